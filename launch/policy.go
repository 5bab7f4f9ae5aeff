package launch

import (
	"context"
	"errors"
	"fmt"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// NewDeployment is a launch from a known registration naming a
// deployment_id the tool's store does not hold (LTI 1.3 Core §5.3.3: a
// platform may create a deployment for every account or course that
// installs the tool). It is handed to a [DeploymentPolicy] only after the
// id_token's signature, its claims and the nonce passed: everything in it
// is verified.
type NewDeployment struct {
	// Registration is what the store returned for the launch's issuer and
	// client_id.
	Registration registration.Registerable
	// DeploymentID is the id_token's deployment_id, exactly as sent
	// (non-empty, at most deployment.MaxIDLength bytes).
	DeploymentID string
	// Claims are the launch's verified claims (context, tool_platform,
	// roles…), for a policy that decides by them. Treat them as read-only.
	Claims *lti.Claims

	// store is the tool's own store, where RecordDeployments finds the
	// deployment it recorded.
	store deployment.Store
}

// DeploymentPolicy decides what a launch with an unknown deployment_id
// under a known registration does; set it with [WithDeploymentPolicy].
// It runs only when the tool's store answered deployment.ErrNotFound for
// a launch that is otherwise valid, and returns the deployment the launch
// goes on with.
//
// Any error refuses the launch: an error that is or wraps an *lti.Error
// with that error's code and description (so one wrapping
// lti.ErrStorageUnavailable refuses it as storage_unavailable, 503), any
// other as unknown_deployment (403) with the error as its cause. A nil
// deployment with a nil error, or one whose DeploymentID is not
// nd.DeploymentID, also refuses the launch as unknown_deployment: a policy
// fails closed.
type DeploymentPolicy func(ctx context.Context, nd NewDeployment) (deployment.Deployable, error)

// WithDeploymentPolicy sets the policy for new deployments of known
// platforms. Without one (the default) such a launch is refused with
// unknown_deployment (403), and a deployment must be added to the store
// before it can launch. See [RecordDeployments].
func WithDeploymentPolicy(p DeploymentPolicy) Option {
	return func(o *options) { o.deploymentPolicy = p }
}

// RecordDeployments is a [DeploymentPolicy] that records new deployments:
// it calls approve (nil accepts every new deployment of a known
// registration; an error refuses the launch and nothing is written), stores
// the deployment with w.CreateDeployment, then finds it again through the
// tool's store and returns what the store returns, so the host's launch
// handler sees the same type as for any other deployment. A deployment
// that another request or another node recorded at the same moment
// (storage.ErrExists) counts as recorded.
//
// approve runs again for each launch of the deployment until it is
// recorded, never after: a later launch finds it in the store. Errors
// map as follows: approve's error as [DeploymentPolicy] says; a storage
// failure is storage_unavailable; a registration removed meanwhile is
// unknown_registration.
func RecordDeployments(w storage.Registrar, approve func(ctx context.Context, nd NewDeployment) error) DeploymentPolicy {
	return func(ctx context.Context, nd NewDeployment) (deployment.Deployable, error) {
		if w == nil {
			return nil, lti.ErrStorageUnavailable.WithCause(errors.New("RecordDeployments has no Registrar"))
		}
		if nd.Registration == nil {
			return nil, lti.ErrUnknownDeployment.WithCause(errors.New("new deployment without a registration"))
		}
		if approve != nil {
			if err := approve(ctx, nd); err != nil {
				return nil, err
			}
		}
		key := nd.Registration.LTIRegistration().Key()
		err := w.CreateDeployment(ctx, key, nd.DeploymentID)
		switch {
		case err == nil, errors.Is(err, storage.ErrExists):
		case errors.Is(err, registration.ErrNotFound):
			return nil, registrationErr(err)
		default:
			return nil, storageErr(fmt.Errorf("recording deployment %q of %s: %w", nd.DeploymentID, key, err))
		}
		store := nd.store
		if store == nil {
			// Called outside a Tool: find it through the Registrar when it
			// can, else hand back the plain deployment.
			s, ok := w.(deployment.Store)
			if !ok {
				return deployment.Deployment{DeploymentID: nd.DeploymentID}, nil
			}
			store = s
		}
		dep, err := store.FindDeployment(ctx, nd.Registration, nd.DeploymentID)
		if err != nil {
			// Recorded but not found: the store and the Registrar disagree.
			return nil, storageErr(fmt.Errorf("deployment %q of %s recorded but not found: %w", nd.DeploymentID, key, err))
		}
		return dep, nil
	}
}

// applyPolicy runs the deployment policy for a verified launch whose
// deployment the store does not hold. It returns a deployment with the
// launch's id or an *lti.Error.
func (t *Tool) applyPolicy(ctx context.Context, host registration.Registerable, claims *lti.Claims) (deployment.Deployable, error) {
	nd := NewDeployment{Registration: host, DeploymentID: claims.DeploymentID, Claims: claims, store: t.deployments}
	dep, err := t.opt.deploymentPolicy(ctx, nd)
	if err != nil {
		return nil, policyErr(err)
	}
	refused := lti.ErrUnknownDeployment.WithSpec("LTI 1.3 Core §5.3.3")
	if dep == nil {
		return nil, refused.WithCause(errors.New("the deployment policy returned no deployment and no error"))
	}
	if dep.LTIDeployment().DeploymentID != claims.DeploymentID {
		return nil, refused.WithCause(errors.New("the deployment policy returned a deployment with another id"))
	}
	return dep, nil
}

// policyErr maps a policy's error: an *lti.Error keeps its code and
// description, anything else is unknown_deployment.
func policyErr(err error) *lti.Error {
	var e *lti.Error
	if errors.As(err, &e) {
		if error(e) == err {
			return e
		}
		return e.WithCause(err)
	}
	return lti.ErrUnknownDeployment.WithCause(err).WithSpec("LTI 1.3 Core §5.3.3")
}
