package deployment_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Install is a host's own deployment row: the tool's installation in one
// course or account of an LMS, with the host's fields next to the
// deployment_id.
type Install struct {
	ID           int64
	DeploymentID string
	School       string
}

// LTIDeployment tells the library the deployment_id; nothing else of
// Install is its business.
func (i *Install) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: i.DeploymentID}
}

// A deployment store looks a deployment_id up under the registration the
// launch came from, and gives back the host's own value: the launch hands
// it to the handler (launch.DeploymentAs) without a second query. The
// memory adapter stands in for the host's database here.
func ExampleStore() {
	ctx := context.Background()
	store := memory.New()
	reg := registration.Registration{
		Issuer: "https://moodle.example", ClientID: "abc123",
		AuthEndpoint: "https://moodle.example/mod/lti/auth.php",
		KeySetURL:    "https://moodle.example/mod/lti/certs.php",
	}
	if err := store.AddRegistration(reg); err != nil {
		fmt.Println(err)
		return
	}
	if err := store.AddDeployment(reg.Key(), &Install{ID: 42, DeploymentID: "7", School: "north"}); err != nil {
		fmt.Println(err)
		return
	}

	// What a launch does with the id_token's deployment_id.
	var deployments deployment.Store = store
	d, err := deployments.FindDeployment(ctx, reg, "7")
	if err != nil {
		fmt.Println(err)
		return
	}
	in := d.(*Install)
	fmt.Println(in.ID, in.School, d.LTIDeployment().DeploymentID)

	// An unknown deployment_id is ErrNotFound: the launch is refused as
	// unknown_deployment (403), unless a launch.DeploymentPolicy records it.
	_, err = deployments.FindDeployment(ctx, reg, "8")
	fmt.Println(errors.Is(err, deployment.ErrNotFound), lti.Classify(err).Code, lti.Classify(err).Status)
	// Output:
	// 42 north 7
	// true unknown_deployment 403
}

// Deployment is Deployable itself, for a host without a deployment type
// of its own. Deployment ids are case-sensitive (LTI 1.3 Core §5.3.3).
func ExampleDeployment() {
	ctx := context.Background()
	store := memory.New()
	reg := registration.Registration{
		Issuer: "https://canvas.instructure.com", ClientID: "10000000000001",
		AuthEndpoint: "https://sso.canvaslms.com/api/lti/authorize_redirect",
		KeySetURL:    "https://sso.canvaslms.com/api/lti/security/jwks",
	}
	_ = store.AddRegistration(reg)
	_ = store.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"})

	_, err := store.FindDeployment(ctx, reg, "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb")
	fmt.Println(err)
	_, err = store.FindDeployment(ctx, reg, "1:8865AA05B4B79B64A91A86042E43AF5EA8AE79EB")
	fmt.Println(errors.Is(err, deployment.ErrNotFound))

	// A store refuses a deployment_id longer than MaxIDLength, as the
	// launch refuses such a claim.
	err = store.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: strings.Repeat("x", deployment.MaxIDLength+1)})
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
	// true
}
