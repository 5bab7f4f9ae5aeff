package deployment

import (
	"context"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// MaxIDLength is the longest deployment_id LTI 1.3 Core §5.3.3 allows.
const MaxIDLength = 255

// Deployment is what the library needs to know about a deployment.
type Deployment struct {
	// DeploymentID is the platform-assigned deployment_id, compared byte for
	// byte (it is case-sensitive).
	DeploymentID string
}

// LTIDeployment returns d itself, so a Deployment is Deployable.
func (d Deployment) LTIDeployment() Deployment { return d }

// Deployable is implemented by any host type that describes a deployment.
type Deployable interface {
	// LTIDeployment extracts what the library needs. It must be cheap and
	// must not do I/O.
	LTIDeployment() Deployment
}

// Store finds deployments. Implementations must be safe for concurrent use.
type Store interface {
	// FindDeployment returns the deployment with deploymentID under reg, the
	// value the registration Store returned for this launch (so a host store
	// can use its own keys, e.g. a database id, without another query).
	// deploymentID is matched exactly and case-sensitively (LTI 1.3 Core
	// §5.3.3). Nothing found is ErrNotFound.
	FindDeployment(ctx context.Context, reg registration.Registerable, deploymentID string) (Deployable, error)
}

// ErrNotFound means no deployment matches. Its code is unknown_deployment
// (see lti.Classify).
var ErrNotFound = lti.NewSentinel(lti.CodeUnknownDeployment, "deployment: not found")
