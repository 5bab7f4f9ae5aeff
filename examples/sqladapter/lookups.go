package sqladapter

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
)

// Platform is the host's own row for an LMS the tool is registered with,
// one row of platforms. FindRegistration returns a *Platform, and the
// launch hands the same value back (launch.RegistrationAs[*Platform]).
type Platform struct {
	// ID is the row's primary key; Install.PlatformID refers to it.
	ID int64
	// Name is the host's own display name for the LMS: the library never
	// reads it.
	Name string
	// Issuer and ClientID identify the registration; together they are
	// unique. The fields from Issuer to KeySetURL are the library's
	// registration.Registration (a key set URL only: this example keeps no
	// static key sets).
	Issuer string
	// ClientID is the client_id the LMS issued to the tool.
	ClientID string
	// AuthEndpoint is the LMS's OIDC authorization endpoint.
	AuthEndpoint string
	// TokenEndpoint is the LMS's OAuth 2 token endpoint; empty for a
	// launch-only tool.
	TokenEndpoint string
	// TokenAudience is the aud of client assertions, when the LMS
	// declares one.
	TokenAudience string
	// KeySetURL is the LMS's JWKS URL.
	KeySetURL string
}

// LTIRegistration implements registration.Registerable. The launch calls
// it on every request: it copies fields and does no I/O.
func (p *Platform) LTIRegistration() registration.Registration {
	return registration.Registration{
		Issuer:        p.Issuer,
		ClientID:      p.ClientID,
		AuthEndpoint:  p.AuthEndpoint,
		TokenEndpoint: p.TokenEndpoint,
		TokenAudience: p.TokenAudience,
		KeySetURL:     p.KeySetURL,
	}
}

// Install is the host's own row for one deployment of the tool in an LMS,
// one row of installs. FindDeployment returns an *Install
// (launch.DeploymentAs[*Install]).
type Install struct {
	// ID is the row's primary key.
	ID int64
	// PlatformID is the Platform the install belongs to.
	PlatformID int64
	// DeploymentID is the LMS's deployment_id, unique per platform and
	// compared byte for byte.
	DeploymentID string
	// School is the host's own field: who installed the tool.
	School string
}

// LTIDeployment implements deployment.Deployable.
func (i *Install) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: i.DeploymentID}
}

const (
	platformColumns   = "id, name, issuer, client_id, auth_endpoint, token_endpoint, token_audience, key_set_url"
	sqlFindPlatform   = "SELECT " + platformColumns + " FROM platforms WHERE issuer = $1 AND client_id = $2"
	sqlFindByIssuer   = "SELECT " + platformColumns + " FROM platforms WHERE issuer = $1 LIMIT 2"
	sqlFindInstall    = "SELECT id, platform_id, deployment_id, school FROM installs WHERE platform_id = $1 AND deployment_id = $2"
	sqlInsertPlatform = `INSERT INTO platforms (name, issuer, client_id, auth_endpoint, token_endpoint, token_audience, key_set_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	sqlInsertInstall = "INSERT INTO installs (platform_id, deployment_id, school) VALUES ($1, $2, $3) RETURNING id"
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanPlatform(row scanner) (*Platform, error) {
	p := new(Platform)
	err := row.Scan(&p.ID, &p.Name, &p.Issuer, &p.ClientID, &p.AuthEndpoint, &p.TokenEndpoint, &p.TokenAudience, &p.KeySetURL)
	return p, err
}

// FindRegistration returns the *Platform of issuer and clientID, compared
// exactly (TEXT's = is case-sensitive). An empty clientID matches the
// issuer's only platform; two or more are registration.ErrAmbiguous, none
// registration.ErrNotFound.
func (s *Store) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	if !usable(issuer) || (clientID != "" && !usable(clientID)) {
		return nil, registration.ErrNotFound
	}
	if clientID != "" {
		p, err := scanPlatform(s.db.QueryRowContext(ctx, sqlFindPlatform, issuer, clientID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, registration.ErrNotFound
		case err != nil:
			return nil, unavailable("find registration", err)
		}
		return p, nil
	}
	// No client_id (LTI 1.3 Core §4.1 makes it optional at login): read up
	// to two rows, never just the first, so a second client of the issuer
	// makes the lookup ambiguous instead of picking one.
	rows, err := s.db.QueryContext(ctx, sqlFindByIssuer, issuer)
	if err != nil {
		return nil, unavailable("find registration", err)
	}
	defer rows.Close()
	var found []*Platform
	for rows.Next() {
		p, err := scanPlatform(rows)
		if err != nil {
			return nil, unavailable("find registration", err)
		}
		found = append(found, p)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("find registration", err)
	}
	switch len(found) {
	case 0:
		return nil, registration.ErrNotFound
	case 1:
		return found[0], nil
	default:
		return nil, registration.ErrAmbiguous
	}
}

// FindDeployment returns the *Install deploymentID of reg. reg is the
// value FindRegistration returned for this launch, so its primary key is
// used without another query; any other Registerable (a host that combines
// stores) is first looked up by issuer and client_id. None is
// deployment.ErrNotFound.
func (s *Store) FindDeployment(ctx context.Context, reg registration.Registerable, deploymentID string) (deployment.Deployable, error) {
	if reg == nil || !usable(deploymentID) || len(deploymentID) > deployment.MaxIDLength {
		return nil, deployment.ErrNotFound
	}
	p, ok := reg.(*Platform)
	if !ok {
		key := reg.LTIRegistration()
		if key.ClientID == "" {
			return nil, deployment.ErrNotFound
		}
		found, err := s.FindRegistration(ctx, key.Issuer, key.ClientID)
		switch {
		case errors.Is(err, registration.ErrNotFound):
			return nil, deployment.ErrNotFound
		case err != nil:
			return nil, err
		}
		p = found.(*Platform)
	}
	if p == nil {
		return nil, deployment.ErrNotFound
	}
	in := new(Install)
	err := s.db.QueryRowContext(ctx, sqlFindInstall, p.ID, deploymentID).Scan(&in.ID, &in.PlatformID, &in.DeploymentID, &in.School)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, deployment.ErrNotFound
	case err != nil:
		return nil, unavailable("find deployment", err)
	}
	return in, nil
}

// AddPlatform inserts p (its ID is ignored) and returns it with the ID the
// database assigned. The same issuer and client_id twice is an error (the
// unique constraint). A real tool adds platforms from an admin page or
// through LTI Dynamic Registration; this example does not implement
// storage.Registrar.
func (s *Store) AddPlatform(ctx context.Context, p Platform) (*Platform, error) {
	if err := p.LTIRegistration().Validate(); err != nil {
		return nil, err
	}
	err := s.db.QueryRowContext(ctx, sqlInsertPlatform, p.Name, p.Issuer, p.ClientID,
		p.AuthEndpoint, p.TokenEndpoint, p.TokenAudience, p.KeySetURL).Scan(&p.ID)
	if err != nil {
		return nil, unavailable("add platform", err)
	}
	return &p, nil
}

// AddInstall inserts the deployment deploymentID of the platform
// platformID, with the school that installed it.
func (s *Store) AddInstall(ctx context.Context, platformID int64, deploymentID, school string) (*Install, error) {
	if deploymentID == "" || len(deploymentID) > deployment.MaxIDLength {
		return nil, errors.New("sqladapter: a deployment_id is 1 to 255 bytes (LTI 1.3 Core §5.3.3)")
	}
	in := &Install{PlatformID: platformID, DeploymentID: deploymentID, School: school}
	if err := s.db.QueryRowContext(ctx, sqlInsertInstall, platformID, deploymentID, school).Scan(&in.ID); err != nil {
		return nil, unavailable("add install", err)
	}
	return in, nil
}
