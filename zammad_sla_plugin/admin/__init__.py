"""What admins run against Zammad: setup/uninstall provisioning, doctor, backfill."""
