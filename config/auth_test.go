package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZeebeAuth(t *testing.T) {
	const password = "s3cret-pw"
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)
	base := map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN": token, "ZEEBE_ADDRESS": "zeebe:26500"}
	cases := []struct {
		name    string
		env     map[string]string
		want    string // the variable named in the error; "" means success
		wantHow string // the strategy on success
	}{
		{"nothing: no credentials", map[string]string{}, "", AuthNone},
		{"basic", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password}, "", AuthBasic},
		{"basic, lower case, password from a file", map[string]string{"CAMUNDA_AUTH_STRATEGY": "basic", "CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD_FILE": pwFile}, "", AuthBasic},
		{"basic inferred", map[string]string{"CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password}, "", AuthBasic},
		{"basic without user", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_PASSWORD": password}, "CAMUNDA_BASIC_AUTH_USERNAME", ""},
		{"basic without password", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo"}, "CAMUNDA_BASIC_AUTH_PASSWORD", ""},
		{"basic, password and file", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password, "CAMUNDA_BASIC_AUTH_PASSWORD_FILE": pwFile}, "CAMUNDA_BASIC_AUTH_PASSWORD_FILE", ""},
		{"basic, user with a colon", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo:" + password, "CAMUNDA_BASIC_AUTH_PASSWORD": password}, "CAMUNDA_BASIC_AUTH_USERNAME", ""},
		{"basic with an OAuth setting", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password, "ZEEBE_CLIENT_ID": "id"}, "ZEEBE_CLIENT_ID", ""},
		{"basic and OAuth, no strategy", map[string]string{"CAMUNDA_BASIC_AUTH_USERNAME": "demo", "CAMUNDA_BASIC_AUTH_PASSWORD": password, "CAMUNDA_CLIENT_SECRET": password}, "CAMUNDA_AUTH_STRATEGY", ""},
		{"oauth, Zeebe names, inferred", map[string]string{"ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": password}, "", AuthOAuth},
		{"oauth, SDK names", map[string]string{"CAMUNDA_AUTH_STRATEGY": "OAUTH", "CAMUNDA_CLIENT_ID": "id", "CAMUNDA_CLIENT_SECRET": password, "CAMUNDA_OAUTH_URL": "https://idp.example.com/token", "CAMUNDA_TOKEN_AUDIENCE": "zeebe-api"}, "", AuthOAuth},
		{"oauth, secret from a file", map[string]string{"CAMUNDA_AUTH_STRATEGY": "OAUTH", "ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET_FILE": pwFile}, "", AuthOAuth},
		{"oauth without secret", map[string]string{"CAMUNDA_AUTH_STRATEGY": "OAUTH", "ZEEBE_CLIENT_ID": "id"}, "ZEEBE_CLIENT_SECRET", ""},
		{"oauth without id", map[string]string{"ZEEBE_CLIENT_SECRET": password}, "ZEEBE_CLIENT_ID", ""},
		{"oauth, bad URL", map[string]string{"ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": password, "CAMUNDA_OAUTH_URL": "idp/token"}, "ZEEBE_AUTHORIZATION_SERVER_URL", ""},
		{"oauth with a basic setting", map[string]string{"CAMUNDA_AUTH_STRATEGY": "OAUTH", "ZEEBE_CLIENT_ID": "id", "ZEEBE_CLIENT_SECRET": password, "CAMUNDA_BASIC_AUTH_PASSWORD": password}, "CAMUNDA_BASIC_AUTH_PASSWORD", ""},
		// The Zeebe client would use OAuth on its own when it sees ZEEBE_CLIENT_ID.
		{"none with an OAuth setting", map[string]string{"CAMUNDA_AUTH_STRATEGY": "NONE", "ZEEBE_CLIENT_ID": "id"}, "ZEEBE_CLIENT_ID", ""},
		{"unknown strategy", map[string]string{"CAMUNDA_AUTH_STRATEGY": "BEARER"}, "CAMUNDA_AUTH_STRATEGY", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range base {
				e[k] = v
			}
			for k, v := range c.env {
				e[k] = v
			}
			cfg, err := Load(env(e), NeedTwilio|NeedZeebe)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.ZeebeAuth.Strategy != c.wantHow {
					t.Fatalf("strategy %q, want %q", cfg.ZeebeAuth.Strategy, c.wantHow)
				}
				if c.wantHow == AuthBasic && (cfg.ZeebeAuth.Username != "demo" || cfg.ZeebeAuth.Password != password) {
					t.Fatalf("credentials %q / %q", cfg.ZeebeAuth.Username, cfg.ZeebeAuth.Password)
				}
				return
			}
			ce, ok := err.(*Error)
			if !ok || ce.Variable != c.want {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), password) {
				t.Fatalf("error spans lines or reveals the password: %q", err)
			}
		})
	}
}

// Commands that do not connect to a gateway (dev, send) are not stopped by credentials meant
// for one.
func TestZeebeAuthCheckedOnlyForTheGateway(t *testing.T) {
	if _, err := Load(env(map[string]string{"CAMUNDA_AUTH_STRATEGY": "BASIC"}), 0); err != nil {
		t.Fatal(err)
	}
}

// The credentials may come from CONNECTOR_CONFIG_FILE like every other setting.
func TestZeebeAuthFromTheConfigFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("CAMUNDA_AUTH_STRATEGY: BASIC\nCAMUNDA_BASIC_AUTH_USERNAME: demo\nCAMUNDA_BASIC_AUTH_PASSWORD: pw\n"), 0o600)
	cfg, err := Load(env(map[string]string{"CONNECTOR_CONFIG_FILE": file, "ZEEBE_ADDRESS": "zeebe:26500"}), NeedZeebe)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.ZeebeAuth; a.Strategy != AuthBasic || a.Username != "demo" || a.Password != "pw" {
		t.Fatalf("%+v", a)
	}
}
