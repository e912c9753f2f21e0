"""Development and test tools for nginx-ingress: never imported by the product.

- `devcluster`: the local Kubernetes API server (`nginx-ingress dev-api`) and its
  pytest fixtures (`nginx_ingress_dev.devcluster.pytest_plugin`);
- `plusapi_stub`: a test double of the NGINX Plus API;
- `plus_standin`: `nginx-plus-standin`, a test double of the NGINX Plus binary (the real
  OSS `nginx` on a copy without the Plus parts, and the API stub beside it).

A separate distribution (`nginx-ingress-py-devtools`), so the controller's image
installs the product alone; `nginx-ingress dev-api` finds it when it is installed.
"""
