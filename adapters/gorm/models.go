package gormadapter

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
)

// Names of the tables the adapter owns. The default models use the first two;
// the last two are always the adapter's.
const (
	// RegistrationsTable holds [Registration] rows.
	RegistrationsTable = "ltikit_registrations"
	// DeploymentsTable holds [Deployment] rows.
	DeploymentsTable = "ltikit_deployments"
	// NoncesTable holds the nonces of PutNonce and ConsumeNonce.
	NoncesTable = "ltikit_nonces"
	// LoginStatesTable holds the login records of PutState and TakeState.
	LoginStatesTable = "ltikit_login_states"
)

// Registration is the default registration model, one row of
// ltikit_registrations, for hosts that have no platform table of their own.
// It implements [registration.Registerable]; the adapter returns a
// *Registration from FindRegistration when it was built with [New].
type Registration struct {
	// ID is the row's primary key; deployments reference it.
	ID uint64 `gorm:"column:id;primaryKey"`
	// Issuer is the platform's issuer identifier (the iss of its
	// id_tokens); with ClientID it is unique. The fields from Issuer to
	// KeySet mirror [registration.Registration].
	Issuer string `gorm:"column:issuer"`
	// ClientID is the client_id the platform issued to the tool.
	ClientID string `gorm:"column:client_id"`
	// AuthEndpoint is the platform's OIDC authorization endpoint.
	AuthEndpoint string `gorm:"column:auth_endpoint"`
	// TokenEndpoint is the platform's OAuth 2 token endpoint; empty for a
	// launch-only tool.
	TokenEndpoint string `gorm:"column:token_endpoint"`
	// TokenAudience is the aud of client assertions when the platform
	// declares one; empty means TokenEndpoint.
	TokenAudience string `gorm:"column:token_audience"`
	// KeySetURL is the platform's JWKS URL; empty when KeySet is set.
	KeySetURL string `gorm:"column:key_set_url"`
	// KeySet is the static key set, stored as JSON text (NULL when unset).
	KeySet KeySet `gorm:"column:key_set"`
}

// TableName returns ltikit_registrations.
func (Registration) TableName() string { return RegistrationsTable }

// LTIRegistration implements [registration.Registerable]. It does no I/O: the
// key set was parsed when the row was read.
func (r Registration) LTIRegistration() registration.Registration {
	reg := registration.Registration{
		Issuer:        r.Issuer,
		ClientID:      r.ClientID,
		AuthEndpoint:  r.AuthEndpoint,
		TokenEndpoint: r.TokenEndpoint,
		TokenAudience: r.TokenAudience,
		KeySetURL:     r.KeySetURL,
	}
	if r.KeySet.Set != nil {
		reg.KeySet = r.KeySet.Set
	}
	return reg
}

// NewRegistration returns the default model row for r, ready for
// db.Create. Its ID is zero, so the database assigns one.
func NewRegistration(r registration.Registration) *Registration {
	return &Registration{
		Issuer:        r.Issuer,
		ClientID:      r.ClientID,
		AuthEndpoint:  r.AuthEndpoint,
		TokenEndpoint: r.TokenEndpoint,
		TokenAudience: r.TokenAudience,
		KeySetURL:     r.KeySetURL,
		KeySet:        KeySet{Set: r.KeySet},
	}
}

// Deployment is the default deployment model, one row of ltikit_deployments.
// It implements [deployment.Deployable]; the adapter returns a *Deployment
// from FindDeployment when it was built with [New].
type Deployment struct {
	// ID is the row's primary key.
	ID uint64 `gorm:"column:id;primaryKey"`
	// RegistrationID is the ID of the [Registration] the deployment belongs to.
	RegistrationID uint64 `gorm:"column:registration_id"`
	// DeploymentID is the platform's deployment_id.
	DeploymentID string `gorm:"column:deployment_id"`
}

// TableName returns ltikit_deployments.
func (Deployment) TableName() string { return DeploymentsTable }

// LTIDeployment implements [deployment.Deployable].
func (d Deployment) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: d.DeploymentID}
}

// KeySet is a static JWK set stored in a text column as its JSON encoding.
// A nil Set is stored as NULL. Hosts may use it in their own models.
type KeySet struct {
	// Set is the parsed key set, nil when none is stored.
	Set jwk.Set
}

// Value implements driver.Valuer: the JSON of the set, or NULL.
func (k KeySet) Value() (driver.Value, error) {
	if k.Set == nil {
		return nil, nil
	}
	b, err := json.Marshal(k.Set)
	if err != nil {
		return nil, fmt.Errorf("gormadapter: encode key set: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner: it parses the stored JSON, so reading a row
// costs one parse and LTIRegistration none.
func (k *KeySet) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		k.Set = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("gormadapter: cannot scan %T into a key set", src)
	}
	if len(b) == 0 {
		k.Set = nil
		return nil
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return fmt.Errorf("gormadapter: decode key set: %w", err)
	}
	k.Set = set
	return nil
}

// GormDataType tells GORM the column is text.
func (KeySet) GormDataType() string { return "text" }

// Models tells the adapter how to find registrations and deployments in the
// host's own tables. R and D are the host's GORM model types (a struct or a
// pointer to one); the adapter returns values of exactly these types from
// FindRegistration and FindDeployment, with every column the host maps
// filled in. The column fields and RegistrationKey are required;
// NewRegistration and NewDeployment are optional and enable the create
// methods of the [storage.Registrar] the Adapter is (see [Adapter.CreateRegistration]).
type Models[R registration.Registerable, D deployment.Deployable] struct {
	// IssuerColumn and ClientIDColumn are the columns of R's table holding
	// the issuer and the client_id. They are compared exactly.
	IssuerColumn string
	// ClientIDColumn: see IssuerColumn.
	ClientIDColumn string
	// RegistrationColumn is the column of D's table that references the
	// registration, e.g. "platform_id".
	RegistrationColumn string
	// DeploymentIDColumn is the column of D's table holding the
	// platform's deployment_id.
	DeploymentIDColumn string
	// RegistrationKey returns the value RegistrationColumn holds for the
	// deployments of reg, usually reg's primary key.
	RegistrationKey func(reg R) any
	// NewRegistration, optional, returns the row of R that
	// [Adapter.CreateRegistration] inserts for reg, with the host's own
	// columns filled in (tenant, display name…) and its primary key left
	// zero for the database to assign. Its LTIRegistration must give reg
	// back (every field, a static key set included), or CreateRegistration
	// fails and writes nothing. Without it, CreateRegistration returns an
	// error wrapping errors.ErrUnsupported.
	NewRegistration func(reg registration.Registration) R
	// NewDeployment, optional, returns the row of D that
	// [Adapter.CreateRegistration] and [Adapter.CreateDeployment] insert
	// for deploymentID under reg, a row of R read from (or just inserted
	// into) the database, so RegistrationKey(reg) is set. Its
	// LTIDeployment must have deploymentID. Without it, CreateDeployment
	// (and CreateRegistration given deployment ids) returns an error
	// wrapping errors.ErrUnsupported.
	NewDeployment func(reg R, deploymentID string) D
}

// DefaultModels describes the package's own [Registration] and [Deployment]
// models; [New] uses it.
func DefaultModels() Models[*Registration, *Deployment] {
	return Models[*Registration, *Deployment]{
		IssuerColumn:       "issuer",
		ClientIDColumn:     "client_id",
		RegistrationColumn: "registration_id",
		DeploymentIDColumn: "deployment_id",
		RegistrationKey:    func(r *Registration) any { return r.ID },
		NewRegistration:    NewRegistration,
		NewDeployment: func(r *Registration, deploymentID string) *Deployment {
			return &Deployment{RegistrationID: r.ID, DeploymentID: deploymentID}
		},
	}
}

func (m Models[R, D]) validate() error {
	switch {
	case m.IssuerColumn == "":
		return errors.New("gormadapter: Models.IssuerColumn is empty")
	case m.ClientIDColumn == "":
		return errors.New("gormadapter: Models.ClientIDColumn is empty")
	case m.RegistrationColumn == "":
		return errors.New("gormadapter: Models.RegistrationColumn is empty")
	case m.DeploymentIDColumn == "":
		return errors.New("gormadapter: Models.DeploymentIDColumn is empty")
	case m.RegistrationKey == nil:
		return errors.New("gormadapter: Models.RegistrationKey is nil")
	}
	return nil
}

// newModel returns a pointer to a fresh struct of T's struct type (T may be
// the struct or a pointer to it), for GORM's migrator and schema parser.
func newModel[T any]() (any, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("gormadapter: model type %v is not a struct or a pointer to one", reflect.TypeFor[T]())
	}
	return reflect.New(t).Interface(), nil
}

// tableOf returns the table GORM maps model to.
func tableOf(db *gorm.DB, model any) (string, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return "", fmt.Errorf("gormadapter: parse model %T: %w", model, err)
	}
	return stmt.Schema.Table, nil
}

var _ schema.Tabler = Registration{}
