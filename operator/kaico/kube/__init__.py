"""Talking to the Kubernetes API: the one client, discovery of served APIs, what is watched, Events."""
