package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/storage"
)

// The redis store: login states and their nonces (and demo-tool's launch
// sessions) in Redis through adapters/redis, registrations and deployments
// in PostgreSQL through the GORM adapter, joined with storage.Combine as a
// host would; for in-process, own-process and demo-tool. Redis's CPU per
// launch is measured as PostgreSQL's is (serverCPU): the CPU time of the
// redis-server processes, from /proc, around the measured launches.

// defaultRedis is -redis's default when LTIKIT_TEST_REDIS_URL is unset.
const defaultRedis = "redis://127.0.0.1:6379/0"

// redisCommand is the command name (/proc/<pid>/comm) of Redis's
// processes.
const redisCommand = "redis-server"

// openRedis connects to -redis and returns the client and a key prefix of
// this run and configuration, whose keys cleanup deletes.
func (b *bench) openRedis(ctx context.Context, name string) (client *redis.Client, prefix string, cleanup func(), err error) {
	opt, err := redis.ParseURL(b.opts.redis)
	if err != nil {
		return nil, "", nil, fmt.Errorf("-redis %s: %w", redactRedis(b.opts.redis), err)
	}
	client = redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, "", nil, fmt.Errorf("redis at %s: %w", redactRedis(b.opts.redis), err)
	}
	prefix = b.prefix + name + ":"
	cleanup = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := client.Scan(dctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(dctx) {
			_ = client.Del(dctx, iter.Val()).Err()
		}
		client.Close()
	}
	return client, prefix, cleanup, nil
}

// redisAdapter is the in-process redis store: the GORM adapter on db for
// registrations and deployments, Redis for states and nonces.
func (b *bench) redisAdapter(ctx context.Context, db *gormadapter.Adapter) (storage.Adapter, func(), error) {
	client, prefix, cleanup, err := b.openRedis(ctx, "inprocess")
	if err != nil {
		return nil, nil, err
	}
	states, err := redisadapter.New(ctx, client, redisadapter.WithPrefix(prefix))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return storage.Combine(db, db, states, states), cleanup, nil
}

// childRedis is the own-process redis store, in the child: the GORM
// adapter db for registrations and deployments, states and nonces in the
// Redis at rawURL under prefix (the parent deletes the keys).
func childRedis(ctx context.Context, db *gormadapter.Adapter, rawURL, prefix string) (storage.Adapter, func(), error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("redis URL %s: %w", redactRedis(rawURL), err)
	}
	client := redis.NewClient(opt)
	states, err := redisadapter.New(ctx, client, redisadapter.WithPrefix(prefix))
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return storage.Combine(db, db, states, states), func() { client.Close() }, nil
}

// demoToolStateStore is demo-tool's --state-store for a configuration: -redis
// with a key prefix of its own.
func (b *bench) demoToolStateStore(ctx context.Context) (string, func(), error) {
	_, prefix, cleanup, err := b.openRedis(ctx, "demotool")
	if err != nil {
		return "", nil, err
	}
	sep := "?"
	if strings.Contains(b.opts.redis, "?") {
		sep = "&"
	}
	return b.opts.redis + sep + "prefix=" + url.QueryEscape(prefix), cleanup, nil
}

// sqlStore is the SQL store that holds a store's registrations: the redis
// store keeps them in PostgreSQL.
func sqlStore(store string) string {
	if store == "redis" {
		return "postgres"
	}
	return store
}

// redactRedis hides the password of a Redis URL.
func redactRedis(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}
