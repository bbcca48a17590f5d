package fakegoogle

import (
	"io"
	"net/http"
	"strings"
)

// serveMetadata is the GCE metadata server (GCE_METADATA_HOST=MetadataHost()).
// Like the real one, it answers only requests that carry "Metadata-Flavor:
// Google" (except GET /), and sets that header on every reply.
func (g *Google) serveMetadata(w http.ResponseWriter, r *http.Request) {
	const prefix = "/computeMetadata/v1/"
	suffix, _ := strings.CutPrefix(r.URL.Path, prefix)
	isToken := suffix == "instance/service-accounts/default/token" ||
		suffix == "instance/service-accounts/"+MetadataEmail+"/token"
	name := "metadata-other"
	if isToken {
		name = "metadata"
	}
	g.mu.Lock()
	g.counts[name]++
	g.mu.Unlock()
	if g.applyFault("metadata", w, r) {
		return
	}

	w.Header().Set("Metadata-Flavor", "Google")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" {
		// The real server answers its root without the request header; some
		// detection code probes it and looks only at the reply's header.
		io.WriteString(w, "computeMetadata/\n")
		return
	}
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing required header: Metadata-Flavor", http.StatusForbidden)
		return
	}
	switch {
	case isToken:
		scopes := []string{CloudPlatformScope}
		if s := r.URL.Query().Get("scopes"); s != "" {
			scopes = strings.Split(s, ",")
		}
		tok, _, expiresIn := g.issue(MetadataSubject, scopes, 0)
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": tok,
			"expires_in":   expiresIn,
			"token_type":   "Bearer",
		})
	case r.URL.Path == prefix || r.URL.Path == "/computeMetadata/v1":
		io.WriteString(w, "instance/\nproject/\nuniverse/\n")
	case suffix == "instance/service-accounts/default/email",
		suffix == "instance/service-accounts/"+MetadataEmail+"/email":
		io.WriteString(w, MetadataEmail)
	case suffix == "instance/service-accounts/default/scopes":
		io.WriteString(w, CloudPlatformScope+"\n")
	case suffix == "instance/service-accounts/" || suffix == "instance/service-accounts":
		io.WriteString(w, "default/\n"+MetadataEmail+"/\n")
	case suffix == "project/project-id":
		io.WriteString(w, ProjectID)
	case suffix == "project/numeric-project-id":
		io.WriteString(w, ProjectNumber)
	case suffix == "universe/universe-domain":
		io.WriteString(w, "googleapis.com")
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}
