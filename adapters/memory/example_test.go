package memory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
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
