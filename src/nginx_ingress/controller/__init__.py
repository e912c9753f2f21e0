"""The controller: the loop that turns cluster state into NGINX configuration, and `run`."""
