// Package memory is a concurrency-safe, in-process [storage.Adapter]: it
// owns registrations and deployments seeded by the host, the login states
// and nonces minted by the launch pipeline, and the launch sessions of
// package session (it is a [session.Store] too), all kept in maps.
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
// The Store is also a [storage.Registrar], the writer that LTI Dynamic
// Registration, the policy that records new deployments and administrative
// tools use: [Store.CreateRegistration] stores a registration and its
// deployments under one lock, all or none, as the library's own
// [registration.Registration] and [deployment.Deployment] values;
// [Store.CreateDeployment], [Store.DeleteDeployment] and
// [Store.DeleteRegistration] (which removes the registration's deployments
// with it) work on every registration, added or created; and
// [Store.Registrations] lists them by issuer and client_id, deployment ids
// in byte order.
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
// A Store bounds itself without a sweeper: the writes remove expired
// entries. A put that finds its table (states, nonces or sessions) grown
// past 1024 entries and past twice what the table kept after its last
// purge first removes that table's expired entries, so a scan of n
// entries follows at least n/2 puts (O(1) amortised per put) and a table
// holds at most about twice its live entries; and the first put after a
// minute of the Store's clock without such a purge removes the expired
// entries of every table, so what a burst left behind goes at the next
// put. No goroutine is started. [Store.PurgeExpired], which a host may
// call from its own scheduler, and the goroutine [Store.StartSweeper]
// starts remove expired entries too, also when no put comes. An expired
// entry that has not been removed yet is refused as [nonce.ErrExpired];
// once removed it is [nonce.ErrNotFound].
//
// Expiry is judged with the Store's clock ([WithClock], time.Now by
// default): an entry is usable strictly before its ExpiresAt.
//
// # Launch sessions
//
// [Store.PutSession], [Store.GetSession], [Store.TouchSession] and
// [Store.DeleteSession] keep [session.Record] values under one lock per
// shard, so a touch never revives a session that expired or was deleted,
// and a delete is seen by every later call. A session is usable strictly
// before its IdleExpiresAt and its ExpiresAt; PurgeExpired and the sweeper
// remove it after either. The Store keeps at most [DefaultMaxSessions]
// sessions ([WithMaxSessions]): at the bound PutSession drops the expired
// ones and otherwise refuses with [ErrFull], so memory stays bounded.
//
// # Errors
//
// Lookups return [registration.ErrNotFound], [registration.ErrAmbiguous] and
// [deployment.ErrNotFound]; takes and consumes return [nonce.ErrNotFound],
// [nonce.ErrExpired] and [nonce.ErrConsumed]; session lookups and touches
// [session.ErrNotFound] and [session.ErrExpired]. Storing a key that already
// exists returns an error matching [ErrDuplicate]; for a registration or a
// deployment, through the Add methods or the Registrar ones, the error
// matches [storage.ErrExists] too. The Registrar's deletes return
// [registration.ErrNotFound] and [deployment.ErrNotFound], and its invalid
// input an error of its own, with nothing written. A cancelled or expired
// context makes every method return the context's error, wrapped, without
// reading or changing any data; the launch pipeline treats it as
// storage_unavailable.
package memory
