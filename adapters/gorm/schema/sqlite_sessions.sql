CREATE TABLE IF NOT EXISTS ltikit_launch_sessions (
	id              TEXT NOT NULL PRIMARY KEY,
	issuer          TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	deployment_id   TEXT NOT NULL,
	subject         TEXT NOT NULL,
	claims          BLOB NOT NULL,
	csrf            TEXT NOT NULL,
	created_at      DATETIME NOT NULL,
	idle_expires_at DATETIME NOT NULL,
	expires_at      DATETIME NOT NULL
);
CREATE INDEX IF NOT EXISTS ltikit_launch_sessions_idle_expires_at
	ON ltikit_launch_sessions (idle_expires_at);
