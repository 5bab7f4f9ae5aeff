// Package nonce owns the single-use values of a launch: the OIDC state and
// nonce minted at login initiation, the [Login] record that carries them
// between the two requests, and the two stores that keep them.
//
// The single-use guarantee is the store's: [StateStore.TakeState] and
// [Store.ConsumeNonce] must each be one atomic operation (one conditional
// statement in SQL, one locked map operation in memory), never a check
// followed by a set, so that exactly one of any number of concurrent callers
// — in one process or in many processes sharing a database — succeeds.
//
// A StateStore that also implements [Carrier] keeps the nonce inside the
// Login record, and taking the state consumes the nonce with it: a launch
// then costs exactly two storage writes, one at login and one at launch.
//
// # Errors
//
// Stores return [ErrNotFound], [ErrExpired] or [ErrConsumed] for the three
// ways a value can be refused; every one of them refuses the launch. Any
// other error is a storage failure and refuses the launch as
// storage_unavailable: stores fail closed.
package nonce
