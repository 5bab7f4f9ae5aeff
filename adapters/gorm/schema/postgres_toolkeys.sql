CREATE TABLE IF NOT EXISTS ltikit_tool_keys (
	kid         TEXT PRIMARY KEY,
	private_key BYTEA NOT NULL,
	public_key  BYTEA NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL,
	retired_at  TIMESTAMPTZ,
	expires_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX IF NOT EXISTS ltikit_tool_keys_one_active
	ON ltikit_tool_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
