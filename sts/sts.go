package sts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/broker-dev/broker"
	"github.com/broker-dev/broker/metrics"
	"github.com/broker-dev/broker/partition"
)

// API is the part of the SDK client this package calls (a test seam).
type API interface {
	AssumeRoleWithSAML(ctx context.Context, in *awssts.AssumeRoleWithSAMLInput, optFns ...func(*awssts.Options)) (*awssts.AssumeRoleWithSAMLOutput, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in *awssts.AssumeRoleWithWebIdentityInput, optFns ...func(*awssts.Options)) (*awssts.AssumeRoleWithWebIdentityOutput, error)
}

// Config configures a Client.
type Config struct {
	// Endpoint overrides the STS endpoint for every partition (the local
	// stand-in, a VPC endpoint); "" = AWS's regional endpoints.
	Endpoint string
	// Regions maps a partition to the STS region to call; a partition it
	// leaves out uses its partition.Partition.STSRegion.
	Regions    map[string]string
	HTTPClient *http.Client
	// Timeout bounds one call including SDK retries (default 10s).
	Timeout time.Duration
	// MaxAttempts is the SDK's attempt limit (default 3).
	MaxAttempts int
	// Clients replaces the SDK client per partition (tests).
	Clients map[string]API
	// Metrics records each call's latency and failures by AWS error code
	// (nil: not recorded).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Client calls STS.
type Client struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mu      sync.Mutex
	clients map[string]API
	// roleMax remembers roles that refused a requested duration, so the
	// next call asks for what they allow up front.
	roleMax roleMaxCache
}

// New returns a Client. SDK clients are built lazily per partition.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	regions := map[string]string{}
	for _, p := range partition.All() {
		regions[p.ID] = p.STSRegion
	}
	for p, r := range cfg.Regions {
		if !partition.Known(p) {
			return nil, fmt.Errorf("sts: unknown partition %q", p)
		}
		regions[p] = r
	}
	cfg.Regions = regions
	c := &Client{cfg: cfg, log: cfg.Logger, now: cfg.Now, clients: map[string]API{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	for p, api := range cfg.Clients {
		c.clients[p] = api
	}
	return c, nil
}

// client returns the SDK client for the partition of roleARN.
func (c *Client) client(roleARN string) (API, error) {
	a, err := broker.ParseARN(roleARN)
	if err != nil || a.Kind() != broker.KindRole {
		return nil, broker.Errorf(broker.EINVALID, "role_arn_invalid", "The role %q is not a valid IAM role ARN. Contact your administrator.", roleARN)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if api, ok := c.clients[a.Partition]; ok {
		return api, nil
	}
	opts := awssts.Options{
		Region:           c.cfg.Regions[a.Partition],
		Credentials:      aws.AnonymousCredentials{}, // unsigned calls: never look for credentials
		RetryMaxAttempts: c.cfg.MaxAttempts,
	}
	if c.cfg.HTTPClient != nil {
		opts.HTTPClient = c.cfg.HTTPClient
	}
	if c.cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(c.cfg.Endpoint)
	}
	api := awssts.New(opts)
	c.clients[a.Partition] = api
	return api, nil
}

// Notice tells the person something about how their session was made.
type Notice struct {
	Code    string // duration_clamped_role, duration_clamped_assertion
	Message string
}

// Result is a successful role assumption.
type Result struct {
	Credentials      broker.Credentials
	Duration         time.Duration // DurationSeconds of the successful call (0 = AWS default)
	Notices          []Notice
	Subject          string
	SubjectType      string
	Issuer           string
	Audience         string
	NameQualifier    string
	Provider         string
	SourceIdentity   string
	PackedPolicySize int
}

var errNoCredentials = errors.New("sts: response has no credentials")
