// Package memory is a concurrency-safe, in-process [storage.Adapter]: it
// owns registrations and deployments seeded by the host, and the login
// states and nonces minted by the launch pipeline, all kept in maps.
//
// It suits tests, examples and single-process tools. Nothing survives a
// restart and nothing is shared between processes: a tool running several
// replicas behind a load balancer needs a shared store (for example the gorm
// adapter), because the login and the launch may reach different replicas.
//
// # Seeding
//
// The host adds registrations with [Store.AddRegistration] and deployments
// with [Store.AddDeployment]. The values are kept as given, so the launch
// hands the host's own struct (database id, tenant, settings) back, not a
// copy of the library's [registration.Registration].
//
// # Single use
//
// [Store.TakeState] and [Store.ConsumeNonce] check and mark an entry under
// one lock, so exactly one of any number of concurrent callers succeeds.
// Taken and consumed entries stay in the store, marked, until their expiry,
// so a replay is refused as [nonce.ErrConsumed]. The Store implements
// [nonce.Carrier]: the nonce travels inside the state's [nonce.Login] and
// taking the state consumes both.
//
// Expired entries are removed by [Store.PurgeExpired], which a host may call
// from its own scheduler, or by the goroutine [Store.StartSweeper] starts.
// An expired entry that has not been removed yet is refused as
// [nonce.ErrExpired]; once removed it is [nonce.ErrNotFound].
//
// Expiry is judged with the Store's clock ([WithClock], time.Now by
// default): an entry is usable strictly before its ExpiresAt.
//
// # Errors
//
// Lookups return [registration.ErrNotFound], [registration.ErrAmbiguous] and
// [deployment.ErrNotFound]; takes and consumes return [nonce.ErrNotFound],
// [nonce.ErrExpired] and [nonce.ErrConsumed]. Storing a key that already
// exists returns an error matching [ErrDuplicate]. A cancelled or expired
// context makes every method return the context's error, wrapped, without
// reading or changing any data; the launch pipeline treats it as
// storage_unavailable.
package memory
