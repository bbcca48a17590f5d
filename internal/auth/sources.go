package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/internal/smallfile"
)

// metadataProbeTimeout bounds the presence check, so a laptop with no
// metadata server never stalls.
const metadataProbeTimeout = time.Second

// metadataHost is where a metadata server would answer: GCE_METADATA_HOST
// (env), else the link-local address, but only when the machine says it is
// a Google VM, so other machines make no request.
func metadataHost(env string) (host string, candidate bool) {
	if env != "" {
		return env, true
	}
	return "169.254.169.254", onGoogleHardware()
}

// probeMetadata reports whether a GCE metadata server answers at host.
func probeMetadata(host string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), metadataProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/computeMetadata/v1/", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := (&http.Client{Timeout: metadataProbeTimeout}).Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.Header.Get("Metadata-Flavor") == "Google"
}

func onGoogleHardware() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	b, err := os.ReadFile("/sys/class/dmi/id/product_name")
	return err == nil && bytes.Contains(b, []byte("Google"))
}

func metadataToken(ctx context.Context, client *http.Client, host string, scopes []string) (*oauth2.Token, error) {
	u := "http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token"
	if len(scopes) > 0 {
		u += "?" + url.Values{"scopes": {strings.Join(scopes, ",")}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, permanent{err}
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("metadata server %s answered %s", host, resp.Status)
		if resp.StatusCode < 500 {
			return nil, permanent{err}
		}
		return nil, err
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&body); err != nil || body.AccessToken == "" || body.ExpiresIn <= 0 {
		return nil, fmt.Errorf("metadata server %s returned an unreadable token reply", host)
	}
	return &oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType,
		Expiry: time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)}, nil
}

// maxGcloudOutput bounds what is read of gcloud's output: its
// config-helper reply is a few KiB.
const maxGcloudOutput = 1 << 20

// gcloudToken asks the gcloud CLI, the last resort: it costs most of a second.
func gcloudToken(ctx context.Context, gcloud string) (*oauth2.Token, error) {
	cmd := exec.CommandContext(ctx, gcloud, "config", "config-helper", "--format=json")
	// Only the first line of stderr is shown, so little of it is kept.
	stderr := &capped{max: 4 << 10}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second // a child holding the pipes open does not hang us
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, permanent{fmt.Errorf("gcloud config config-helper: %v", err)}
	}
	if err := cmd.Start(); err != nil {
		return nil, permanent{fmt.Errorf("gcloud config config-helper could not start: %v", err)}
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, maxGcloudOutput+1))
	tooMuch := len(out) > maxGcloudOutput
	if tooMuch && cmd.Process != nil {
		cmd.Process.Kill()
	}
	err = cmd.Wait()
	switch {
	case tooMuch:
		return nil, permanent{fmt.Errorf("gcloud config config-helper printed more than %d bytes, which is not its reply", maxGcloudOutput)}
	case err != nil || readErr != nil:
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gcloud config config-helper did not finish in time")
		}
		if err == nil {
			err = readErr
		}
		return nil, permanent{fmt.Errorf("gcloud config config-helper failed (%v): %s", err, firstLine(stderr.String()))}
	}
	var reply struct {
		Credential struct {
			AccessToken string `json:"access_token"`
			TokenExpiry string `json:"token_expiry"`
		} `json:"credential"`
	}
	if err := json.Unmarshal(out, &reply); err != nil || reply.Credential.AccessToken == "" {
		return nil, permanent{errors.New("gcloud config config-helper printed no access token")}
	}
	expiry, err := time.Parse(time.RFC3339, reply.Credential.TokenExpiry)
	if err != nil {
		expiry = time.Now().Add(30 * time.Minute) // gcloud's tokens live longer; be conservative
	}
	return &oauth2.Token{AccessToken: reply.Credential.AccessToken, TokenType: "Bearer", Expiry: expiry}, nil
}

// capped keeps the first max bytes written to it and drops the rest
// (without failing the writer, so the program is not killed by EPIPE).
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// gcloudAccount reads the active configuration's account from gcloud's own
// files (or its variables), without running gcloud.
func gcloudAccount(set settings.Settings) string {
	dir := set.GcloudDir
	if dir == "" {
		return ""
	}
	name := set.GcloudConfig
	if name == "" {
		b, _ := smallfile.Read(filepath.Join(dir, "active_config"), maxGcloudConfig, "gcloud configuration")
		name = strings.TrimSpace(string(b))
	}
	if name == "" {
		name = "default"
	}
	if a := set.GcloudAccount; a != "" {
		return a
	}
	b, err := smallfile.Read(filepath.Join(dir, "configurations", "config_"+name), maxGcloudConfig, "gcloud configuration")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "account" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// maxGcloudConfig bounds what is read of gcloud's small configuration files.
const maxGcloudConfig = 64 << 10
