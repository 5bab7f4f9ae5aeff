// Package deployment owns the description of a deployment: one install of
// the tool inside a platform registration, identified by the platform's
// deployment_id (LTI 1.3 Core §3.1.3, §5.3.3), and the [Store] that finds it.
//
// Like registrations, deployments can be the host's own structs: any type
// implementing [Deployable] can be returned by a Store and comes back to the
// host in the validated launch (launch.Launch).
//
// # Errors
//
// A Store returns [ErrNotFound] for an unknown deployment (the launch is
// refused as unknown_deployment); any other error refuses the launch as
// storage_unavailable.
package deployment
