package worker

import (
	"testing"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
)

// BenchmarkDecodeJob turns a typical Send SMS job (a dozen process variables, three headers)
// into an action invocation.
func BenchmarkDecodeJob(b *testing.B) {
	job := entities.Job{ActivatedJob: &pb.ActivatedJob{
		Key: 2251799813685260, Type: "twilioConnector.send_sms", Retries: 3,
		CustomHeaders: `{"errorMode":"bpmnError","retryBackoff":"PT30S","templateEngine":"freemarker"}`,
		Variables: `{"smsFrom":"+15005550006","smsTo":["+14155550100","+14155550101"],` +
			`"smsBody":"Hi ${customer.name}, order ${orderId} is ready at ${store}.","orderId":10427,` +
			`"customer":{"name":"Ana","phone":"+14155550100","tier":"gold"},"store":"Main Street",` +
			`"items":[{"sku":"A1","qty":2},{"sku":"B7","qty":1}],"total":59.9,"paid":true,"notes":null}`,
	}}
	w := New(nil, nil, Options{RetryBackoff: 10})
	b.ReportAllocs()
	for b.Loop() {
		headers, err := job.GetCustomHeadersAsMap()
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := w.invocation(job, headers); err != nil {
			b.Fatal(err)
		}
	}
}
