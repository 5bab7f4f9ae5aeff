CREATE TABLE IF NOT EXISTS ltikit_nonces (
	nonce       TEXT NOT NULL PRIMARY KEY,
	issuer      TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	expires_at  DATETIME NOT NULL,
	consumed_at DATETIME
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ltikit_nonces_expires_at
	ON ltikit_nonces (expires_at);
CREATE TABLE IF NOT EXISTS ltikit_login_states (
	state           TEXT NOT NULL PRIMARY KEY,
	nonce           TEXT NOT NULL,
	issuer          TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	target_link_uri TEXT NOT NULL,
	deployment_id   TEXT NOT NULL,
	binding         TEXT NOT NULL,
	expires_at      DATETIME NOT NULL,
	consumed_at     DATETIME
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ltikit_login_states_expires_at
	ON ltikit_login_states (expires_at);
