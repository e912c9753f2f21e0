"""`nginx-ingress dev`: the controller working on a workstation, without a cluster.

The local API server stands in for the cluster, a folder of manifests for what a
user would `kubectl apply`, small stand-ins for what a cluster's own controllers
would have made (the controller's Pod, EndpointSlices, a certificate), and the
controller itself runs as `nginx-ingress run` against it over HTTP with a real
NGINX: the code path of a cluster, so what a user sees here is what the product does.

A development tool, not a production component: see docs/devrun.md.
"""
