package engine

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// TestSMSRoundTrip runs a process shaped like the connector's: a message start event, a send
// task served by a job worker, a receive task correlated by the sender's number and a gateway.
func TestSMSRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		reply     string // "" when the worker throws SMS_RECIPIENT_OPTED_OUT instead
		wantTrail []string
	}{
		{"confirmed", "YES", []string{"orderReceived", "askConfirmation", "awaitConfirmation", "confirmed", "confirmedEnd"}},
		{"not confirmed", "NO", []string{"orderReceived", "askConfirmation", "awaitConfirmation", "confirmed", "cancelledEnd"}},
		{"opted out", "", []string{"orderReceived", "customerOptedOut", "optedOutEnd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t)
			te.deploy(t, "sms_round_trip.bpmn")
			sent := make(chan map[string]any, 1)
			te.openWorker(t, "test.send_sms", func(c worker.JobClient, job entities.Job) {
				vars, _ := job.GetVariablesAsMap()
				sent <- vars
				ctx := context.Background()
				if tt.reply == "" {
					_, err := c.NewThrowErrorCommand().JobKey(job.Key).ErrorCode("SMS_RECIPIENT_OPTED_OUT").Send(ctx)
					if err != nil {
						t.Errorf("throw: %v", err)
					}
					return
				}
				cmd, _ := c.NewCompleteJobCommand().JobKey(job.Key).VariablesFromMap(map[string]any{"twilioResult": []any{map[string]any{"sid": "SM1"}}})
				if _, err := cmd.Send(ctx); err != nil {
					t.Errorf("complete: %v", err)
				}
			})

			order := map[string]any{"matchGroups": map[string]any{"orderNumber": "A-7"}, "from": "+15550100", "originalMessage": "Order Number A-7"}
			if err := te.publish(t, "sms-order-received", "", "SMorder", time.Minute, order); err != nil {
				t.Fatal(err)
			}
			instances := te.Instances()
			if len(instances) != 1 {
				t.Fatalf("%d instances started", len(instances))
			}
			key := instances[0].Key

			got := <-sent
			if got["smsTo"] != "+15550100" || got["smsBody"] != "Reply YES to confirm order ${orderNumber}" || got["orderNumber"] != "A-7" {
				t.Errorf("send_sms job variables = %v", got)
			}
			if tt.reply != "" {
				wait.Until(t, 5*time.Second, "the instance to wait for the reply", func() bool {
					info, _ := te.Instance(key)
					return reflect.DeepEqual(info.ActiveElements, []string{"awaitConfirmation"})
				})
				if err := te.publish(t, "sms-confirmation", "+15550100", "SMreply", time.Minute, map[string]any{"originalMessage": tt.reply}); err != nil {
					t.Fatal(err)
				}
			}
			info := te.waitState(t, key, StateCompleted)
			if !reflect.DeepEqual(info.CompletedElements, tt.wantTrail) {
				t.Errorf("path = %v, want %v", info.CompletedElements, tt.wantTrail)
			}
		})
	}
}
