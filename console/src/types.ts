/** The API resources the console reads (the fields it uses). */

export interface Page {
  Page: number;
  PageSize: number;
  NextPageUri: string | null;
  PreviousPageUri: string | null;
}

export interface BillingLine {
  CallSid: string;
  Line: number;
  TrunkSid: string;
  Day: string;
  Kind: string;
  Number: string;
  Description: string;
  RatePerMinute: number;
  Minutes: number;
  Amount: number;
  Currency: string;
}

export interface Call {
  Sid: string;
  ParentCallSid: string | null;
  TransferSid: string | null;
  /** A joined call (attended transfer): the replaced call whose far party it joined. */
  JoinedCallSid?: string | null;
  TrunkSid: string | null;
  TrunkName: string | null;
  Direction: 'trunking-terminating' | 'trunking-originating';
  From: string;
  To: string;
  CallerId: string | null;
  TargetKind: string | null;
  Status: string;
  SipResponseCode: number | null;
  StartTime: string;
  AnswerTime: string | null;
  EndTime: string | null;
  Duration: number | null;
  Price: number | null;
  PriceUnit: string | null;
  TransfersAccepted: number;
  BillingLines: BillingLine[];
}

export interface Transfer {
  Sid: string;
  CallSid: string;
  Kind?: 'blind' | 'attended';
  ReplacedCallSid?: string | null;
  ChildCallSid: string | null;
  TrunkSid: string | null;
  ReferTo: string;
  TargetKind: string | null;
  TargetUri: string | null;
  Outcome: string;
  ReferStatus: number | null;
  TargetStatus: number | null;
  RejectionReason: string | null;
  FailureReason: string | null;
  ReferTime: string;
  AnswerTime: string | null;
  Refer202Ms: number | null;
  ReferAnswerMs: number | null;
}

export interface Trunk {
  Sid: string;
  Name: string;
  Domain: string;
  Acl: string[];
  OriginationUri: string;
  Numbers: string[];
  TransferMode: string;
  TransferCallerId: string;
  MaxTransfersPerCall: number;
  Rates: { Currency: string; Origination: Record<string, number>; Termination: Record<string, number> };
  Source: string;
  Revision: number;
  DateCreated: string;
  DateUpdated: string;
}

export interface AuditEntry {
  Position: number;
  At: string;
  Kind: string;
  Action: string;
  TrunkSid: string | null;
  CallSid: string | null;
  TransferSid: string | null;
  What: string;
  Why: string;
  By: string | null;
}

export interface ReplayStep {
  Revision: number;
  Position: number;
  At: string;
  Type: string;
  Machine: string | null;
  Before: unknown;
  After: unknown;
  Recorded: unknown;
  Actions: string[];
}

export interface SipMessage {
  Index: number;
  At: string;
  Direction: 'in' | 'out';
  Transport: string;
  RemoteHost: string;
  RemotePort: number;
  CallId: string;
  CSeq: string;
  Method: string | null;
  Status: number | null;
  FirstLine: string;
  Text: string;
}

export interface ChartState {
  Path: string;
  Key: string;
  Type: string;
  Initial: string | null;
  States: ChartState[];
  Transitions: { Event: string; Targets: string[]; Guarded: boolean }[];
}

export interface Machine {
  Name: string;
  Id: string;
  Root: ChartState;
}

export interface Health {
  Status: string;
  HeadPosition: number;
  Projections: { Name: string; Position: number; Lag: number; Error: string | null }[];
}
