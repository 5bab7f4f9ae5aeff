// Package gormsqlite opens an SQLite database file for the GORM adapter
// (package gormadapter, github.com/ltikit/ltikit/adapters/gorm), through
// modernc.org/sqlite, SQLite translated to Go (no cgo), and its GORM
// dialect github.com/libtnb/sqlite. Its import path is
// github.com/ltikit/ltikit/adapters/gorm/sqlite.
//
// It is a package of its own so that only the programs that use SQLite
// link its driver: gormadapter imports no database driver, and a tool on
// PostgreSQL alone (package gormpostgres) carries no SQLite engine. Hosts
// that open the *gorm.DB themselves need neither package.
//
// [Open] sets the file up for the adapter's concurrency: WAL, a busy
// timeout and BEGIN IMMEDIATE, so that concurrent TakeState calls, from
// one pool or from several processes on the same file, wait for each other
// instead of failing with SQLITE_BUSY. [OpenReadOnly] opens an existing
// file for tools that only read.
//
// Importing the package registers modernc.org/sqlite's database/sql
// driver ("sqlite"), and the dialect turns on three process-wide switches
// of that driver: strict _pragma parsing, open-file-description locks on
// Linux (they exclude other processes' POSIX locks on the file as those do
// each other) and fdatasync. Another SQLite driver registered under the
// name "sqlite" in the same program (github.com/glebarez/go-sqlite does)
// makes it panic at start-up: a program links one of them.
//
// # The file holds secrets
//
// An SQLite file may hold the tool's private signing key
// (gormadapter.ToolKeyStore), so Open creates it 0600 ([FileMode])
// whatever the process umask; SQLite gives its -wal and -shm files the
// same mode. An existing file (or -wal, -shm, -journal file) that group or
// others may read is made 0600 when Open opens it, with a warning through
// the logger of [WithLogger] (default slog.Default()). A host that opens
// the file itself protects it itself.
//
// # Paths it cannot use
//
// A path the helpers cannot use is a [*PathError] saying what is wrong
// (its directory does not exist, it is a directory, it or its directory is
// not writable…) and naming the path at fault, rather than the driver's
// "unable to open database file"; every one matches [ErrPath] and has the
// code storage_unavailable.
package gormsqlite
