package redisadapter_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/storage"
)

// Registrations and deployments stay in the host's SQL database; login
// states, their nonces and the launch sessions go to Redis.
// storage.Combine joins them into the one storage.Adapter that code such as
// launch.Config.Storage or storage.CacheLookups takes.
func Example() {
	ctx := context.Background()
	db, err := gorm.Open(postgres.Open(os.Getenv("DATABASE_URL")), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	sql, err := gormadapter.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}

	opt, err := redis.ParseURL(os.Getenv("REDIS_URL")) // e.g. redis://:password@redis.internal:6379/0
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	states, err := redisadapter.New(ctx, client)
	if err != nil {
		log.Fatal(err) // Redis does not answer: storage_unavailable
	}

	store := storage.Combine(sql, sql, states, states)
	tool, err := launch.New(launch.Config{Storage: store, BaseURL: "https://tool.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: states, Tool: tool, BaseURL: "https://tool.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/lti/login", tool.LoginHandler())
	http.Handle("/lti/launch", tool.LaunchHandler(sessions.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("launched"))
	}))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// The stores can also be set one by one in launch.Config, without Combine.
// A ClusterClient works as a single client does: every operation touches
// one key.
func ExampleNew_cluster() {
	ctx := context.Background()
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"redis-0.internal:6379", "redis-1.internal:6379", "redis-2.internal:6379"},
	})
	defer client.Close()
	states, err := redisadapter.New(ctx, client, redisadapter.WithPrefix("mytool:"))
	if err != nil {
		log.Fatal(err)
	}
	var sql *gormadapter.Adapter // the host's SQL adapter, as in the package example
	_, err = launch.New(launch.Config{
		Registrations: sql,
		Deployments:   sql,
		States:        states, // carries the nonce: no Nonces store needed
		BaseURL:       "https://tool.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
}
