package credfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/internal/settings"
	"github.com/gcrcred/gcrcred/test/wintest"
)

// TestLocateOnWindows: gcloud's ADC under %APPDATA% is found; the Unix
// system-wide path is never read (any user may create C:\etc there).
func TestLocateOnWindows(t *testing.T) {
	appdata := wintest.TempDir(t)
	places := Places{GcloudDir: settings.Parse([]string{"APPDATA=" + appdata}, settings.Host{GOOS: "windows"}).GcloudDir}
	system := filepath.Join(filepath.VolumeName(appdata)+`\`, "etc", "gcrcred")
	if err := os.MkdirAll(system, 0o755); err == nil {
		defer os.RemoveAll(filepath.Join(filepath.VolumeName(appdata)+`\`, "etc"))
		os.WriteFile(filepath.Join(system, "credentials.json"), []byte(`{"type":"service_account","client_email":"planted@x.iam.gserviceaccount.com","private_key":"k"}`), 0o644)
	}
	f, tried, err := Locate(places, Workstation)
	if err != nil || f != nil {
		t.Fatalf("with no ADC: %v, %v", f, err)
	}
	if !strings.Contains(strings.Join(tried, "; "), "absent") {
		t.Fatalf("tried = %v", tried)
	}
	adc := filepath.Join(appdata, "gcloud", "application_default_credentials.json")
	os.MkdirAll(filepath.Dir(adc), 0o700)
	if err := os.WriteFile(adc, []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","account":"me@example.com"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err = Locate(places, Workstation)
	if err != nil || f == nil || f.Path != adc || f.Account != "me@example.com" {
		t.Fatalf("Locate = %+v, %v; want gcloud's ADC at %s", f, err, adc)
	}
}
