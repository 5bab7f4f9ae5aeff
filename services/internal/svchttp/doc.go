// Package svchttp is the HTTP layer the LTI Advantage service clients
// (services/ags, services/nrps) share: bearer-authorized requests that are
// only ever sent to the platform's own origins (docs/security.md, case 47), one
// retry with a fresh token after a 401, response bodies bounded in size,
// calls bounded in time, redirects kept to the request's origin, lists
// capped in pages and items,
// the typed HTTP error with the platform's own words (package errbody),
// service URLs used as given (their query byte for byte, with AppendPath
// and AddQuery splicing in what a call adds), the Link header parser (RFC
// 8288) and streaming of paged JSON array containers.
package svchttp
