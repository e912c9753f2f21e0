"""The NGINX manager: the process, safe apply of rendered trees, reload and confirmation.

The only module that touches NGINX's files and process.
"""
