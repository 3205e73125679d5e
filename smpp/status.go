package smpp

import "fmt"

// Command status codes used by the package (SMPP 3.4 section 5.1.3).
const (
	StatusOK           uint32 = 0x00000000
	StatusInvMsgLen    uint32 = 0x00000001
	StatusInvCmdLen    uint32 = 0x00000002
	StatusInvCmdID     uint32 = 0x00000003
	StatusInvBnd       uint32 = 0x00000004
	StatusAlyBnd       uint32 = 0x00000005
	StatusSysErr       uint32 = 0x00000008
	StatusInvSrcAdr    uint32 = 0x0000000A
	StatusInvDstAdr    uint32 = 0x0000000B
	StatusInvMsgID     uint32 = 0x0000000C
	StatusBindFail     uint32 = 0x0000000D
	StatusInvPaswd     uint32 = 0x0000000E
	StatusInvSysID     uint32 = 0x0000000F
	StatusMsgQFull     uint32 = 0x00000014
	StatusInvEsmClass  uint32 = 0x00000043
	StatusSubmitFail   uint32 = 0x00000045
	StatusThrottled    uint32 = 0x00000058
	StatusXTAppn       uint32 = 0x00000064
	StatusDeliveryFail uint32 = 0x000000FE
	StatusUnknownErr   uint32 = 0x000000FF
)

var statusNames = map[uint32]string{
	0x00: "ESME_ROK",
	0x01: "ESME_RINVMSGLEN",
	0x02: "ESME_RINVCMDLEN",
	0x03: "ESME_RINVCMDID",
	0x04: "ESME_RINVBNDSTS",
	0x05: "ESME_RALYBND",
	0x06: "ESME_RINVPRTFLG",
	0x07: "ESME_RINVREGDLVFLG",
	0x08: "ESME_RSYSERR",
	0x0A: "ESME_RINVSRCADR",
	0x0B: "ESME_RINVDSTADR",
	0x0C: "ESME_RINVMSGID",
	0x0D: "ESME_RBINDFAIL",
	0x0E: "ESME_RINVPASWD",
	0x0F: "ESME_RINVSYSID",
	0x11: "ESME_RCANCELFAIL",
	0x13: "ESME_RREPLACEFAIL",
	0x14: "ESME_RMSGQFUL",
	0x15: "ESME_RINVSERTYP",
	0x33: "ESME_RINVNUMDESTS",
	0x34: "ESME_RINVDLNAME",
	0x40: "ESME_RINVDESTFLAG",
	0x42: "ESME_RINVSUBREP",
	0x43: "ESME_RINVESMCLASS",
	0x44: "ESME_RCNTSUBDL",
	0x45: "ESME_RSUBMITFAIL",
	0x48: "ESME_RINVSRCTON",
	0x49: "ESME_RINVSRCNPI",
	0x50: "ESME_RINVDSTTON",
	0x51: "ESME_RINVDSTNPI",
	0x53: "ESME_RINVSYSTYP",
	0x54: "ESME_RINVREPFLAG",
	0x55: "ESME_RINVNUMMSGS",
	0x58: "ESME_RTHROTTLED",
	0x61: "ESME_RINVSCHED",
	0x62: "ESME_RINVEXPIRY",
	0x63: "ESME_RINVDFTMSGID",
	0x64: "ESME_RX_T_APPN",
	0x65: "ESME_RX_P_APPN",
	0x66: "ESME_RX_R_APPN",
	0x67: "ESME_RQUERYFAIL",
	0xC0: "ESME_RINVOPTPARSTREAM",
	0xC1: "ESME_ROPTPARNOTALLWD",
	0xC2: "ESME_RINVPARLEN",
	0xC3: "ESME_RMISSINGOPTPARAM",
	0xC4: "ESME_RINVOPTPARAMVAL",
	0xFE: "ESME_RDELIVERYFAILURE",
	0xFF: "ESME_RUNKNOWNERR",
}

// StatusName is the name of a command_status in the SMPP 3.4 specification (section 5.1.3),
// or "status 0x…" for one it does not list.
func StatusName(status uint32) string {
	if n, ok := statusNames[status]; ok {
		return n
	}
	return fmt.Sprintf("status 0x%08X", status)
}
