"""Operating it: `check` (is this setup ready?), `db` and `report`."""
