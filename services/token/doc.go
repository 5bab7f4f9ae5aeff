// Package token owns the OAuth 2 access tokens that LTI Advantage service
// calls (Assignment and Grade Services, Names and Role Provisioning
// Services) carry: the client credentials grant with a signed JWT client
// assertion (RFC 6749 §4.4, RFC 7523, 1EdTech Security Framework §4.1), and
// the cache that shares one token per registration and scope set.
package token
