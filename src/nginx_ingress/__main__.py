from nginx_ingress.cli import main

raise SystemExit(main())
