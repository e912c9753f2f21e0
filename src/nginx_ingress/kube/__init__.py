"""Everything that talks to the Kubernetes API: client set-up, reflectors, events, the headless
Service. The only module that does."""
