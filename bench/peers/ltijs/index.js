// A minimal LTI 1.3 tool on ltijs 5.9 with ltijs-sequelize on PostgreSQL:
// the peer that ltibench (cmd/ltibench) drives side by side with ltikit,
// with the same load generator and the same in-process platform.
//
// Environment (ltibench sets all of it; see bench/peers/ltijs/README.md):
//   PORT                 listen port on 127.0.0.1 (default 3000)
//   LTIJS_DB             postgres://user:password@host:port/database
//   LTIJS_KEY            secret ltijs signs its cookies and ltiks with
//   PLATFORM_URL         the platform's issuer
//   PLATFORM_CLIENT_ID   the tool's client_id on the platform
//   PLATFORM_AUTH_URL    the platform's OIDC auth endpoint
//   PLATFORM_TOKEN_URL   the platform's token endpoint
//   PLATFORM_JWKS_URL    the platform's key set
//
// The login URL is /login, the redirect URI (ltijs uses the target link URI
// as redirect_uri) and launch URL is /. ltijs answers a valid launch post
// with a redirect to /?ltik=…, where onConnect renders the page below.
'use strict'

const lti = require('ltijs').Provider
const Database = require('ltijs-sequelize')

const env = (name, def) => {
  const v = process.env[name]
  if (v === undefined || v === '') {
    if (def !== undefined) return def
    console.error(`ltijs peer: ${name} is not set`)
    process.exit(2)
  }
  return v
}

const port = Number(env('PORT', '3000'))
const dbURL = new URL(env('LTIJS_DB'))

const db = new Database(
  decodeURIComponent(dbURL.pathname.replace(/^\//, '')),
  decodeURIComponent(dbURL.username),
  decodeURIComponent(dbURL.password),
  {
    host: dbURL.hostname,
    port: Number(dbURL.port || 5432),
    dialect: 'postgres',
    logging: false,
    pool: { max: 16 }
  })

lti.setup(env('LTIJS_KEY', 'ltibench-ltijs-key'), { plugin: db }, {
  appRoute: '/',
  loginRoute: '/login',
  cookies: { secure: false, sameSite: '' }, // plain http on loopback
  devMode: false
})

const escape = (s) => String(s === undefined ? '' : s).replace(/[&<>"']/g,
  (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))

lti.onConnect((token, req, res) => {
  const ctx = res.locals.context || {}
  return res.send('<!doctype html><html><head><meta charset="utf-8"><title>launch</title></head><body>' +
    `<p>hello ${escape(token.userInfo && token.userInfo.name)} (${escape(token.user)}), ` +
    `deployment ${escape(token.deploymentId)}, context ${escape(ctx.context && ctx.context.title)}</p></body></html>\n`)
})

const main = async () => {
  await lti.deploy({ port, silent: true })
  await lti.registerPlatform({
    url: env('PLATFORM_URL'),
    name: 'ltibench platform',
    clientId: env('PLATFORM_CLIENT_ID'),
    authenticationEndpoint: env('PLATFORM_AUTH_URL'),
    accesstokenEndpoint: env('PLATFORM_TOKEN_URL'),
    authConfig: { method: 'JWK_SET', key: env('PLATFORM_JWKS_URL') }
  })
  console.log(`ltijs peer listening on ${port}`)
}

main().catch((err) => {
  console.error('ltijs peer:', err)
  process.exit(1)
})

const stop = async () => {
  try { await lti.close({ silent: true }) } catch (e) {}
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
