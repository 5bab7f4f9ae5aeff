package gormsqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/ltikit/ltikit/lti"
)

// PathProblem says what is wrong with an SQLite database path.
type PathProblem string

// The problems of a [PathError].
const (
	// DirMissing: the directory that would hold the file does not
	// exist (SQLite does not create directories).
	DirMissing PathProblem = "directory_missing"
	// NotADirectory: a component of the path before the file name is
	// a file, not a directory.
	NotADirectory PathProblem = "not_a_directory"
	// IsDirectory: the path names a directory.
	IsDirectory PathProblem = "is_a_directory"
	// NotRegular: the path names a device, a pipe or a socket.
	NotRegular PathProblem = "not_a_regular_file"
	// NotWritable: the file, or the directory that holds it (and its
	// -wal and -shm files), may not be written by the process.
	NotWritable PathProblem = "not_writable"
	// NotReadable: the process may not read the file.
	NotReadable PathProblem = "not_readable"
	// FileMissing: a read-only open of a file that does not exist.
	FileMissing PathProblem = "file_missing"
	// Unusable: the operating system refused the path for another
	// reason (see Err).
	Unusable PathProblem = "unusable"
)

// ErrPath is matched (errors.Is) by every [*PathError]; its
// code is storage_unavailable.
var ErrPath = lti.NewSentinel(lti.CodeStorageUnavailable, "gormsqlite: unusable SQLite database path")

// PathError is the error of [Open] and [OpenReadOnly] for
// a path they cannot use, with what is wrong.
type PathError struct {
	// Path is the database path as given.
	Path string
	// Problem is what is wrong, a stable value.
	Problem PathProblem
	// Subject is the path the problem is about: Path itself, or the
	// directory (or the file in its place) that causes it.
	Subject string
	// Err is the operating system's error, when there is one.
	Err error
}

// Error says what is wrong in words, naming the paths.
func (e *PathError) Error() string {
	var msg string
	switch e.Problem {
	case DirMissing:
		msg = fmt.Sprintf("the directory %s does not exist (SQLite creates the file, not its directory)", e.Subject)
	case NotADirectory:
		msg = fmt.Sprintf("%s is a file, not a directory", e.Subject)
	case IsDirectory:
		msg = "it is a directory; give the path of a database file"
	case NotRegular:
		msg = "it is not a regular file"
	case NotWritable:
		if e.Subject != e.Path {
			msg = fmt.Sprintf("the directory %s is not writable (SQLite keeps its -wal and -shm files beside the database)", e.Subject)
		} else {
			msg = "the file is not writable"
		}
	case NotReadable:
		msg = "the file is not readable"
	case FileMissing:
		msg = "the file does not exist"
	default:
		msg = "the path cannot be used"
	}
	if e.Err != nil && e.Problem != DirMissing && e.Problem != FileMissing && e.Problem != IsDirectory {
		msg += ": " + errText(e.Err)
	}
	return fmt.Sprintf("gormsqlite: SQLite database %s: %s", e.Path, msg)
}

// errText is the operating system's reason without the path it repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Code is storage_unavailable, as ErrPath's: it implements lti.Coded.
func (e *PathError) Code() lti.Code { return lti.CodeStorageUnavailable }

// Unwrap returns ErrPath and the operating system's error.
func (e *PathError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrPath}
	}
	return []error{ErrPath, e.Err}
}

// checkPath finds what makes path unusable as a database file, to
// read and, with write, to write (creating it if missing).
func checkPath(path string, write bool) error {
	fail := func(p PathProblem, subject string, err error) error {
		return &PathError{Path: path, Problem: p, Subject: subject, Err: err}
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		// Find the deepest ancestor that exists: a file there is the
		// problem, or else the missing directory.
		dir := filepath.Dir(path)
		for p := dir; ; p = filepath.Dir(p) {
			if afi, aerr := os.Stat(p); aerr == nil {
				if !afi.IsDir() {
					return fail(NotADirectory, p, nil)
				}
				break
			}
			if filepath.Dir(p) == p {
				break
			}
		}
		if dfi, derr := os.Stat(dir); derr != nil {
			return fail(DirMissing, dir, derr)
		} else if !dfi.IsDir() {
			return fail(NotADirectory, dir, nil)
		}
		if !write {
			return fail(FileMissing, path, err)
		}
		return nil // created by privateFiles, which reports a refusal
	default:
		return fail(Unusable, path, err)
	}
	switch {
	case fi.IsDir():
		return fail(IsDirectory, path, nil)
	case !fi.Mode().IsRegular():
		return fail(NotRegular, path, nil)
	}
	flag, problem := os.O_RDONLY, NotReadable
	if write {
		flag, problem = os.O_RDWR, NotWritable
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		if isPermission(err) {
			if write {
				// Say unreadable when it is.
				rf, rerr := os.Open(path)
				if rerr != nil {
					return fail(NotReadable, path, rerr)
				}
				rf.Close()
			}
			return fail(problem, path, err)
		}
		return fail(Unusable, path, err)
	}
	f.Close()
	return nil
}

// checkDir reports a directory that refuses new files when the
// database has no -wal file yet, which SQLite must create there. It tries
// a temporary file, as permission bits do not tell (root, ACLs,
// read-only mounts).
func checkDir(path string) error {
	if exists(path + "-wal") {
		return nil
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".ltikit-probe-*")
	if err != nil {
		if isPermission(err) {
			return &PathError{Path: path, Problem: NotWritable, Subject: dir, Err: err}
		}
		return nil
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// isPermission reports a refusal by permissions or a read-only file system.
func isPermission(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// privateFiles creates the database file at path with FileMode
// if it does not exist, and otherwise tightens it and the files SQLite
// keeps beside it. A refused creation is a *PathError.
func privateFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case err == nil:
		// The umask may have cleared bits of the mode, never added any;
		// Chmod makes it exactly 0600 all the same.
		if err := f.Chmod(FileMode); err != nil {
			log.Warn("gormsqlite: setting the mode of the new SQLite database file failed", "path", path, "error", err)
		}
		f.Close()
	case errors.Is(err, fs.ErrExist):
	case isPermission(err):
		return &PathError{Path: path, Problem: NotWritable, Subject: filepath.Dir(path), Err: err}
	default:
		return &PathError{Path: path, Problem: Unusable, Subject: path, Err: err}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		tightenFile(p, log)
	}
	return nil
}

// warnOpenFile warns, without changing anything, when the file at p
// is readable by group or others: the read-only open's counterpart of
// tightenFile.
func warnOpenFile(p string, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("gormsqlite: the SQLite file is readable by group or others (left as is: opened read-only); it may hold the tool's private key",
		"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
}

// tightenFile makes the file at p 0600 if group or others have any
// permission on it, with a warning. A missing file is left alone.
func tightenFile(p string, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	if err := os.Chmod(p, FileMode); err != nil {
		log.Warn("gormsqlite: the SQLite file is readable by group or others and could not be made 0600; it may hold the tool's private key",
			"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()), "error", err)
		return
	}
	log.Warn("gormsqlite: the SQLite file was readable by group or others; made it 0600, since it may hold the tool's private key",
		"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
}
