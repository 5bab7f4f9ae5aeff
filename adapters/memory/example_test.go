package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// Course is a host type: the launch hands it back as is.
type Course struct {
	ID   int64
	Name string
	Reg  registration.Registration
}

// LTIRegistration makes Course a registration.Registerable.
func (c Course) LTIRegistration() registration.Registration { return c.Reg }

func Example() {
	store := memory.New()

	reg := registration.Registration{
		Issuer:       "https://lms.example.com",
		ClientID:     "tool-client-1",
		AuthEndpoint: "https://lms.example.com/oidc/auth",
		KeySetURL:    "https://lms.example.com/.well-known/jwks.json",
	}
	if err := store.AddRegistration(Course{ID: 42, Name: "Biology 101", Reg: reg}); err != nil {
		log.Fatal(err)
	}
	if err := store.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "deploy-1"}); err != nil {
		log.Fatal(err)
	}

	// The launch pipeline looks them up; the platform sent no client_id.
	ctx := context.Background()
	found, err := store.FindRegistration(ctx, "https://lms.example.com", "")
	if err != nil {
		log.Fatal(err)
	}
	d, err := store.FindDeployment(ctx, found, "deploy-1")
	if err != nil {
		log.Fatal(err)
	}
	course := found.(Course)
	fmt.Println(course.ID, course.Name, d.LTIDeployment().DeploymentID)
	// Output: 42 Biology 101 deploy-1
}

// The Store is a storage.Registrar: what Dynamic Registration, the policy
// that records new deployments and administrative tools write through it,
// the launch finds.
func ExampleStore_CreateRegistration() {
	var reg storage.Registrar = memory.New()
	ctx := context.Background()

	lms := registration.Registration{
		Issuer:       "https://lms.example.com",
		ClientID:     "tool-client-1",
		AuthEndpoint: "https://lms.example.com/oidc/auth",
		KeySetURL:    "https://lms.example.com/.well-known/jwks.json",
	}
	if err := reg.CreateRegistration(ctx, lms, "deploy-1"); err != nil {
		log.Fatal(err)
	}
	// A second platform of the same issuer, and a deployment seen later.
	other := lms
	other.ClientID = "tool-client-2"
	if err := reg.CreateRegistration(ctx, other); err != nil {
		log.Fatal(err)
	}
	if err := reg.CreateDeployment(ctx, lms.Key(), "Deploy-0"); err != nil {
		log.Fatal(err)
	}

	// Creating what is stored already is refused, and nothing changes.
	err := reg.CreateRegistration(ctx, lms, "deploy-2")
	fmt.Println("duplicate:", errors.Is(err, storage.ErrExists))

	if err := reg.DeleteRegistration(ctx, other.Key()); err != nil {
		log.Fatal(err)
	}
	entries, err := reg.Registrations(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Registration.Key(), e.Deployments)
	}
	// Output:
	// duplicate: true
	// https://lms.example.com|tool-client-1 [Deploy-0 deploy-1]
}
