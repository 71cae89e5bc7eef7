"""What every domain stands on: settings, the database, Temporal (client, search attributes,
payload encryption), HTTP plumbing shared by all routes, metrics and logs, S3."""
