"""Secrets and privacy: key files and a scan of everything a full run leaves behind."""
