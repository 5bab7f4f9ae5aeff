CREATE TABLE IF NOT EXISTS ltikit_registrations (
	id             INTEGER PRIMARY KEY,
	issuer         TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	auth_endpoint  TEXT NOT NULL,
	token_endpoint TEXT NOT NULL DEFAULT '',
	token_audience TEXT NOT NULL DEFAULT '',
	key_set_url    TEXT NOT NULL DEFAULT '',
	key_set        TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ltikit_registrations_issuer_client_id
	ON ltikit_registrations (issuer, client_id);
CREATE TABLE IF NOT EXISTS ltikit_deployments (
	id              INTEGER PRIMARY KEY,
	registration_id INTEGER NOT NULL REFERENCES ltikit_registrations (id) ON DELETE CASCADE,
	deployment_id   TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ltikit_deployments_registration_id_deployment_id
	ON ltikit_deployments (registration_id, deployment_id);
