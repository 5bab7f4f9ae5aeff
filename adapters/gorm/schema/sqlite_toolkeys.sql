CREATE TABLE IF NOT EXISTS ltikit_tool_keys (
	kid         TEXT NOT NULL PRIMARY KEY,
	private_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	created_at  DATETIME NOT NULL,
	retired_at  DATETIME,
	expires_at  DATETIME
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS ltikit_tool_keys_one_active
	ON ltikit_tool_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
