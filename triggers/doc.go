// Package triggers is the SMS_RECEIVED trigger (docs/design.md §4): Twilio posts every inbound
// SMS to the connector's webhook; the connector matches it against the trigger definitions, publishes
// a Zeebe message per matching trigger and answers the sender with TwiML. It also receives
// Twilio's delivery status callbacks. The generic HTTP channel (HTTPChannel) feeds the same
// pipeline (an Inbound, whatever the channel) and sends its replies as outgoing messages
// through a Replier. It never imports the Zeebe client: publishing goes
// through the Publisher interface (worker.Publisher is the Zeebe implementation).
//
// # Trigger definitions
//
// From BPMN (LoadDir, FromDefinitions): message start events and intermediate message catch
// events with these zeebe:properties, as the "Twilio: SMS received" element templates write
// them:
//
//	inbound.type       SMS_RECEIVED (required; marks the event as a trigger)
//	inbound.pattern    Java regular expression the whole trimmed message must match (required)
//	inbound.echo       reply template when the message was published (optional)
//	inbound.echoError  reply template when publishing failed (optional)
//	inbound.to         only SMS sent to this number, E.164 (optional; a plain number also
//	                   takes WhatsApp messages to it, whatsapp:+… only those)
//	inbound.connection only messages of this connection (optional; absent: DefaultConnection,
//	                   the Twilio account, so older triggers keep taking only Twilio's SMS)
//	inbound.messageTtl message time to live, ISO 8601 (optional; default PT0S for catch
//	                   events, so only a process already waiting gets the reply, and
//	                   Options.MessageTTL for start events)
//	inbound.activationCondition       FEEL: the trigger fires only when true (optional)
//	inbound.correlationKeyExpression  FEEL: the correlation key (optional; default =from for
//	                                  catch events, none for start events)
//	inbound.resultExpression          FEEL context: the published variables (optional;
//	                                  default the message variables below)
//	inbound.messageIdExpression       FEEL: the Zeebe message id (optional; default derived
//	                                  from the MessageSid)
//
// messageTtl and the four FEEL properties may also be written under Camunda's names, without
// the inbound. prefix (correlationKeyExpression, ...), as Camunda's inbound templates write them.
// The FEEL properties see the echo templates' variables and receivedAt (see below); they are
// parsed at load time (package feel) and evaluated per matching message, activationCondition
// first. The message name is the event's bpmn:message name. Without correlationKeyExpression,
// start events publish with an empty correlation key and catch events with the sender's
// number (From), so their zeebe:subscription correlationKey must evaluate to the number the
// process texted, in E.164.
//
// From YAML (LoadFile, ParseYAML): the same fields, with kind start|catch; see ParseYAML.
// Both give the same Definition, compiled by Compile; every problem is reported as
// "file: process/element: field: problem".
//
// # Matching and replies
//
// Patterns have Java's Matcher.matches() semantics (see Pattern) with a match timeout. The echo
// templates see the named groups as top-level variables plus matchGroups, originalMessage,
// from, to, messageSid, channel and connection. The message variables are matchGroups,
// originalMessage, to, from, messageSid, receivedAt (RFC 3339, UTC), channel (sms, whatsapp,
// http) and connection.
//
// # Delivery guarantees
//
// Each MessageSid is claimed once in the store (store.ClaimWith, so replicas sharing a store
// agree): a redelivered SMS gets the first reply and publishes nothing. The claim and the
// outbox entries of its messages are one atomic write, so a crash cannot leave one without the
// other. Every message is in the outbox before it is published and removed once Zeebe took it; what the engine refused stays
// there and Outbox.Run retries it with backoff, also after a restart. Message ids are derived
// from the MessageSid (or given by messageIdExpression), so a message published twice (a retry, two replicas) is one message in
// Zeebe while it is buffered (its TTL; with TTL 0 Zeebe keeps nothing to compare against).
package triggers
