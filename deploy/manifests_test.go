package deploy

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/twilio-connector/twilio-connector/config"
)

// connectorImage is the image name the manifests use for the connector; kustomization.yaml
// maps it to the registry's.
const connectorImage = "twilio-connector"

// yamlFiles returns every YAML file under deploy/.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// documents decodes each YAML document of file.
func documents(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", file)
	}
	return docs
}

// portRef is a port given by number or by name (an IntOrString).
type portRef string

func (p *portRef) UnmarshalYAML(n *yaml.Node) error { *p = portRef(n.Value); return nil }

type probe struct {
	HTTPGet *struct {
		Path string  `yaml:"path"`
		Port portRef `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef any `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef any `yaml:"secretRef"`
	} `yaml:"envFrom"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// object is the part of a Kubernetes object (or the Kustomization) the tests read.
type object struct {
	file       string
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Resources  []string          `yaml:"resources"`
	Images     []struct {
		Name string `yaml:"name"`
	} `yaml:"images"`
	Spec struct {
		// A Service's selector is the labels; a workload's or a PodDisruptionBudget's
		// is under matchLabels.
		Selector struct {
			Labels      map[string]string `yaml:",inline"`
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []container `yaml:"containers"`
				Volumes    []struct {
					Name   string `yaml:"name"`
					Secret *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Port       int     `yaml:"port"`
			TargetPort portRef `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

// kubernetes reads every object of deploy/kubernetes/, the example Secrets included.
func kubernetes(t *testing.T) []object {
	t.Helper()
	var objs []object
	for _, f := range yamlFiles(t) {
		if !strings.HasPrefix(f, "kubernetes/") {
			continue
		}
		for _, d := range documents(t, f) {
			o := object{file: f}
			if err := d.Decode(&o); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s in deploy/kubernetes/", kind, name)
	return object{}
}

// connector returns the Deployment running the connector and its container.
func connector(t *testing.T, objs []object) (object, container) {
	t.Helper()
	for _, o := range objs {
		if o.Kind != "Deployment" {
			continue
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			if c.Image == connectorImage {
				return o, c
			}
		}
	}
	t.Fatalf("no Deployment in deploy/kubernetes/ has a container of image %s", connectorImage)
	return object{}, container{}
}

// checkVariables fails for each name in env that the connector does not read (config.Variables)
// and for each secret given as a value instead of a file (NAME where NAME_FILE exists).
func checkVariables(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := config.Variables()
	for name := range env {
		if !slices.Contains(known, name) {
			t.Errorf("%s: %s is not a variable the connector reads (config.Variables)", where, name)
		}
		if slices.Contains(known, name+"_FILE") {
			t.Errorf("%s: the secret %s is given as a variable: mount it as a file and set %s_FILE", where, name, name)
		}
	}
}

// Every variable a YAML file under deploy/ names, in a setting or in a comment telling how to
// turn a feature on, is one the connector reads.
func TestFilesNameOnlyKnownVariables(t *testing.T) {
	variable := regexp.MustCompile(`\b(?:TWILIO|CONNECTOR|ZEEBE|CAMUNDA)_[A-Z0-9_]*[A-Z0-9]\b`)
	for _, f := range yamlFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range variable.FindAllString(string(data), -1) {
			if !slices.Contains(config.Variables(), name) {
				t.Errorf("%s names %s, which is not a variable the connector reads (config.Variables)", f, name)
			}
		}
	}
}

// secretFile tells whether name is the _FILE variable of a secret.
func secretFile(name string) bool {
	base, ok := strings.CutSuffix(name, "_FILE")
	return ok && slices.Contains(config.Variables(), base)
}

// Every YAML file under deploy/ parses, and every Kubernetes document says what it is.
func TestYAMLFilesParse(t *testing.T) {
	files := yamlFiles(t)
	if len(files) == 0 {
		t.Fatal("no YAML files under deploy/")
	}
	for _, f := range files {
		for i, d := range documents(t, f) {
			var head object
			if err := d.Decode(&head); err != nil {
				t.Errorf("%s document %d: %v", f, i+1, err)
			}
			if strings.HasPrefix(f, "kubernetes/") && (head.APIVersion == "" || head.Kind == "" || (head.Metadata.Name == "" && head.Kind != "Kustomization")) {
				t.Errorf("%s document %d: no apiVersion, kind or metadata.name", f, i+1)
			}
		}
	}
}

// kubectl apply -k applies every manifest but the example Secrets, and the connector's image
// name is the one the Kustomization replaces.
func TestKustomization(t *testing.T) {
	objs := kubernetes(t)
	k := find(t, objs, "Kustomization", "")
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		base := filepath.Base(f)
		listed := slices.Contains(k.Resources, base)
		switch {
		case base == "kustomization.yaml":
		case strings.HasSuffix(base, ".example.yaml") && listed:
			t.Errorf("kustomization.yaml applies %s: its placeholders would overwrite the real Secrets", base)
		case !strings.HasSuffix(base, ".example.yaml") && !listed:
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	images := false
	for _, i := range k.Images {
		images = images || i.Name == connectorImage
	}
	if !images {
		t.Errorf("kustomization.yaml has no images entry for %s", connectorImage)
	}
}

// connectorEnv is the connector container's environment: its env and the ConfigMaps it takes
// whole (envFrom), by name. Secrets given as variables fail the test.
func connectorEnv(t *testing.T, objs []object, c container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil {
			t.Errorf("container %s takes a Secret as variables (envFrom secretRef): mount it as files, read through the _FILE variables", c.Name)
		}
		if from.ConfigMapRef != nil {
			for k, v := range find(t, objs, "ConfigMap", from.ConfigMapRef.Name).Data {
				env[k] = v
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Errorf("container %s: %s comes from a Secret as a variable: mount it as a file, read through a _FILE variable", c.Name, e.Name)
		}
		env[e.Name] = e.Value
	}
	return env
}

// The connector's manifests set only variables it reads, secrets only as files of a mounted
// Secret, each file one the example Secret has.
func TestKubernetesVariables(t *testing.T) {
	objs := kubernetes(t)
	dep, c := connector(t, objs)
	env := connectorEnv(t, objs, c)
	checkVariables(t, dep.file, env)
	secretOf := map[string]string{} // mount path -> Secret name
	for _, m := range c.VolumeMounts {
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				secretOf[m.MountPath] = v.Secret.SecretName
			}
		}
	}
	files := 0
	for name, value := range env {
		if !secretFile(name) {
			continue
		}
		files++
		secret, ok := secretOf[path.Dir(value)]
		if !ok {
			t.Errorf("%s=%s: no Secret is mounted at %s", name, value, path.Dir(value))
			continue
		}
		s := find(t, objs, "Secret", secret)
		if _, ok := s.StringData[path.Base(value)]; !ok {
			if _, ok := s.Data[path.Base(value)]; !ok {
				t.Errorf("%s=%s: Secret %s (%s) has no key %s", name, value, secret, s.file, path.Base(value))
			}
		}
	}
	if files == 0 {
		t.Error("the connector reads no secret from a file")
	}
}

// The connector listens where its container port, its probes, its scrape annotation and its
// Service point.
func TestKubernetesPorts(t *testing.T) {
	objs := kubernetes(t)
	dep, c := connector(t, objs)
	env := connectorEnv(t, objs, c)
	port := addrPort(t, dep.file, env["CONNECTOR_HTTP_ADDR"])
	if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Fatalf("container ports %+v, want one: %s, the port of CONNECTOR_HTTP_ADDR", c.Ports, port)
	}
	resolve := func(ref portRef) string {
		if string(ref) == c.Ports[0].Name {
			return strconv.Itoa(c.Ports[0].ContainerPort)
		}
		return string(ref)
	}
	for _, p := range []*probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("the connector container lacks an httpGet startup, liveness or readiness probe")
			continue
		}
		if resolve(p.HTTPGet.Port) != port {
			t.Errorf("probe %s on port %s, want %s", p.HTTPGet.Path, p.HTTPGet.Port, port)
		}
	}
	if a := dep.Spec.Template.Metadata.Annotations["prometheus.io/port"]; a != port {
		t.Errorf("prometheus.io/port %q, want %s", a, port)
	}
	labels := dep.Spec.Template.Metadata.Labels
	selects := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !selects(dep.Spec.Selector.MatchLabels) {
		t.Errorf("Deployment %s selects %v, not its pods %v", dep.Metadata.Name, dep.Spec.Selector.MatchLabels, labels)
	}
	svc := find(t, objs, "Service", dep.Metadata.Name)
	if !selects(svc.Spec.Selector.Labels) {
		t.Errorf("Service %s selects %v, not the connector's pods %v", svc.Metadata.Name, svc.Spec.Selector.Labels, labels)
	}
	if len(svc.Spec.Ports) != 1 || strconv.Itoa(svc.Spec.Ports[0].Port) != port || resolve(svc.Spec.Ports[0].TargetPort) != port {
		t.Errorf("Service %s ports %+v, want port and targetPort %s", svc.Metadata.Name, svc.Spec.Ports, port)
	}
	if pdb := find(t, objs, "PodDisruptionBudget", dep.Metadata.Name); !selects(pdb.Spec.Selector.MatchLabels) {
		t.Errorf("the PodDisruptionBudget selects %v, not the connector's pods %v", pdb.Spec.Selector.MatchLabels, labels)
	}
}

// compose is the part of docker-compose.yaml the tests read.
type compose struct {
	Services map[string]struct {
		Environment []string `yaml:"environment"`
		Ports       []string `yaml:"ports"`
		Volumes     []string `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// docker-compose.yaml runs one replica with variables the connector reads, its secrets as
// files, its state on a named volume and its port published.
func TestCompose(t *testing.T) {
	var c compose
	if err := documents(t, "docker-compose.yaml")[0].Decode(&c); err != nil {
		t.Fatal(err)
	}
	svc, ok := c.Services["twilio-connector"]
	if !ok {
		t.Fatal("docker-compose.yaml has no twilio-connector service")
	}
	env := map[string]string{}
	for _, e := range svc.Environment {
		name, value, _ := strings.Cut(e, "=")
		env[name] = value
	}
	checkVariables(t, "docker-compose.yaml", env)
	mounts := map[string]string{} // container path -> source
	for _, v := range svc.Volumes {
		f := strings.Split(v, ":")
		if len(f) < 2 {
			t.Fatalf("docker-compose.yaml volume %q: want SOURCE:TARGET", v)
		}
		mounts[f[1]] = f[0]
	}
	for name, value := range env {
		if !secretFile(name) || value == "" {
			continue
		}
		if src, ok := mounts[path.Dir(value)]; !ok || !strings.HasPrefix(src, "./") {
			t.Errorf("docker-compose.yaml: %s=%s is not in a directory mounted from the host", name, value)
		}
	}
	stateVolume := mounts[path.Dir(env["CONNECTOR_STATE_FILE"])]
	if _, ok := c.Volumes[stateVolume]; !ok {
		t.Errorf("docker-compose.yaml: CONNECTOR_STATE_FILE=%s is not on a named volume", env["CONNECTOR_STATE_FILE"])
	}
	port := addrPort(t, "docker-compose.yaml", env["CONNECTOR_HTTP_ADDR"])
	if len(svc.Ports) != 1 || !strings.HasSuffix(svc.Ports[0], ":"+port) {
		t.Errorf("docker-compose.yaml ports %v, want one publishing %s, the port of CONNECTOR_HTTP_ADDR", svc.Ports, port)
	}
}
