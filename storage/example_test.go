package storage_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// CacheLookups reuses registrations and deployments that were found, so a
// warm launch costs the database only its state write and take. Pass the
// cache as launch.Config.Storage.
func ExampleCacheLookups() {
	db := memory.New() // in production: the GORM adapter
	reg := registration.Registration{
		Issuer: "https://lms.example", ClientID: "client-1",
		AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks",
	}
	if err := db.AddRegistration(reg); err != nil {
		fmt.Println(err)
		return
	}
	store := storage.CacheLookups(db, storage.CacheConfig{TTL: 30 * time.Second})

	ctx := context.Background()
	for range 3 {
		if _, err := store.FindRegistration(ctx, reg.Issuer, reg.ClientID); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("cached entries:", store.Len(), "carries the nonce:", store.CarriesNonce())

	// After the registration is changed or removed in the database:
	store.Forget(reg.Issuer, reg.ClientID)
	fmt.Println("cached entries:", store.Len())
	// Output:
	// cached entries: 1 carries the nonce: true
	// cached entries: 0
}
