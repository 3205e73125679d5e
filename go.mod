module github.com/twilio-connector/twilio-connector

go 1.26.8

require (
	github.com/camunda/zeebe/clients/go/v8 v8.3.0 // indirect
	github.com/dlclark/regexp2 v1.12.0 // indirect
	github.com/flosch/pongo2/v6 v6.0.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/golang/mock v1.6.0 // indirect
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/twilio/twilio-go v1.31.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
