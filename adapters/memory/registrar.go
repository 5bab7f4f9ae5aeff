package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
)

// errExists is the duplicate of a registration or deployment, through
// [Store.AddRegistration] and [Store.AddDeployment] as through the
// [storage.Registrar] methods: it matches both [ErrDuplicate] and
// [storage.ErrExists]. (Duplicate states, nonces and sessions match
// ErrDuplicate only.)
type errExists struct{}

func (errExists) Error() string { return ErrDuplicate.Error() }

func (errExists) Is(target error) bool { return target == ErrDuplicate || target == storage.ErrExists }

// Code is already_exists, the code of both sentinels it matches.
func (errExists) Code() lti.Code { return lti.CodeAlreadyExists }

// checkDeploymentID reports whether id is a deployment_id the Store keeps:
// non-empty and at most [deployment.MaxIDLength] bytes (LTI 1.3 Core
// §5.3.3).
func checkDeploymentID(id string) error {
	switch {
	case id == "":
		return errors.New("deployment_id is empty")
	case len(id) > deployment.MaxIDLength:
		return fmt.Errorf("deployment_id is longer than %d bytes", deployment.MaxIDLength)
	}
	return nil
}

// CreateRegistration implements [storage.Registrar]: it stores reg and a
// [deployment.Deployment] for each of deploymentIDs under one lock, all or
// none. FindRegistration then returns reg as a [registration.Registration].
// Invalid input (reg fails Validate, a deployment id is empty, longer than
// [deployment.MaxIDLength] bytes or given twice) is an error and writes
// nothing; a registration already stored under reg's issuer and client_id
// is an error matching [storage.ErrExists] and [ErrDuplicate].
func (s *Store) CreateRegistration(ctx context.Context, reg registration.Registration, deploymentIDs ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: create registration: %w", err)
	}
	if err := reg.Validate(); err != nil {
		return fmt.Errorf("memory: create registration: %w", err)
	}
	deps := make(map[string]deployment.Deployable, len(deploymentIDs))
	for _, id := range deploymentIDs {
		if err := checkDeploymentID(id); err != nil {
			return fmt.Errorf("memory: create registration %s: %w", reg.Key(), err)
		}
		if _, ok := deps[id]; ok {
			return fmt.Errorf("memory: create registration %s: deployment_id %q given twice", reg.Key(), id)
		}
		deps[id] = deployment.Deployment{DeploymentID: id}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.addRegistrationLocked(reg, reg); err != nil {
		return fmt.Errorf("memory: create registration %s: %w", reg.Key(), err)
	}
	if len(deps) > 0 {
		s.deps[reg.Key()] = deps
	}
	return nil
}

// CreateDeployment implements [storage.Registrar]: it stores a
// [deployment.Deployment] with deploymentID under the registration key
// identifies, as [Store.AddDeployment] does.
func (s *Store) CreateDeployment(ctx context.Context, key registration.Key, deploymentID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: create deployment: %w", err)
	}
	if err := s.addDeployment(key, deployment.Deployment{DeploymentID: deploymentID}); err != nil {
		return fmt.Errorf("memory: create deployment: %w", err)
	}
	return nil
}

// DeleteRegistration implements [storage.Registrar]: it removes the
// registration and its deployments under one lock, whatever host types
// they were added as.
func (s *Store) DeleteRegistration(ctx context.Context, key registration.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: delete registration: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byClient := s.regs[key.Issuer]
	if _, ok := byClient[key.ClientID]; !ok {
		return fmt.Errorf("memory: delete registration %s: %w", key, registration.ErrNotFound)
	}
	delete(byClient, key.ClientID)
	if len(byClient) == 0 {
		delete(s.regs, key.Issuer)
	}
	delete(s.deps, key)
	return nil
}

// DeleteDeployment implements [storage.Registrar].
func (s *Store) DeleteDeployment(ctx context.Context, key registration.Key, deploymentID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: delete deployment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.regs[key.Issuer][key.ClientID]; !ok {
		return fmt.Errorf("memory: delete deployment: registration %s: %w", key, registration.ErrNotFound)
	}
	byID := s.deps[key]
	if _, ok := byID[deploymentID]; !ok {
		return fmt.Errorf("memory: delete deployment %q under %s: %w", deploymentID, key, deployment.ErrNotFound)
	}
	delete(byID, deploymentID)
	if len(byID) == 0 {
		delete(s.deps, key)
	}
	return nil
}

// Registrations implements [storage.Registrar]: every registration, added
// or created, as its LTIRegistration, with its deployment ids; ordered by
// issuer and client_id, the ids in byte order.
func (s *Store) Registrations(ctx context.Context) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: list registrations: %w", err)
	}
	s.mu.RLock()
	var out []storage.Entry
	for iss, byClient := range s.regs {
		for cid, r := range byClient {
			lr := r.LTIRegistration()
			byID := s.deps[registration.Key{Issuer: iss, ClientID: cid}]
			ids := make([]string, 0, len(byID))
			for id := range byID {
				ids = append(ids, id)
			}
			out = append(out, storage.Entry{Registration: lr, Deployments: ids})
		}
	}
	s.mu.RUnlock()
	for _, e := range out {
		slices.Sort(e.Deployments)
	}
	slices.SortFunc(out, func(a, b storage.Entry) int {
		return cmp.Or(cmp.Compare(a.Registration.Issuer, b.Registration.Issuer),
			cmp.Compare(a.Registration.ClientID, b.Registration.ClientID))
	})
	return out, nil
}
