package actions

// Spec declares an action once, for every place that names it: the worker (job type), the
// HTTP API (request fields), lint and the element-template tests.
type Spec struct {
	// Name is the job type's suffix (JobType) and the name lint and the CLI use.
	Name string
	// Fields are the input variables the action's request parser reads.
	Fields []string
}

// JobType is the Zeebe job type of the action under prefix (CONNECTOR_JOB_TYPE_PREFIX).
func (s Spec) JobType(prefix string) string { return prefix + "." + s.Name }

// The actions.
var (
	SendSMS = Spec{Name: "send_sms", Fields: []string{FieldSMSFrom, FieldSMSTo, FieldSMSSubject, FieldSMSBody,
		FieldSMSMediaURL, FieldSMSTesting, FieldSMSContentSID, FieldSMSContentVariables, FieldSMSSendAt,
		FieldSMSValidityPeriod, FieldSMSSmartEncoded, FieldSMSShortenURLs}}
	MakeCall = Spec{Name: "make_call", Fields: []string{FieldCallFrom, FieldCallTo, FieldCallMessage, FieldCallTwiml,
		FieldCallTwimlURL, FieldCallVoice, FieldCallLanguage, FieldCallTesting}}
	CancelMessage = Spec{Name: "cancel_message", Fields: []string{FieldMessageSID}}
	GetMessage    = Spec{Name: "get_message", Fields: []string{FieldMessageSID}}
)
