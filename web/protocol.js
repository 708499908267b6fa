// generated from wasm_sdk/tidemark_sdk/protocol.json by web/build.py; do not edit.
// Regenerate: python web/build.py --protocol-only (tests/test_protocol.py checks it).
//
// Exports (frozen):
//   ErrorCode           name -> code, the server's (1xxx) and the SDK's own (10xxx)
//   ErrorHttpStatus     server code name -> HTTP status
//   SdkEvent            OpenIM event name -> itself (OnConnecting ... OnRecvC2CReadReceipt)
//   SdkErrorEvents      the events whose data carries errCode/errMsg
//   ServerEvent         WebSocket event name -> type (MESSAGE_NEW: "message.new", ...)
//   Frame               WebSocket frame name -> type (AUTH: "auth", ...)
//   Op                  request op name -> op (SEND_MESSAGE: "sendMessage", ...)
//   CloseCode           WebSocket close code name -> code
//   ContentType         message content type name -> code (TEXT: 101)
//   ContentElem         content type code -> the message field holding it (101: "textElem")
//   SessionType         SINGLE: 1, GROUP: 3
//   Constants           AT_ALL_TAG ("AtAllTag"), RECV_MSG_OPTS, GROUP_AT_TYPES
//   MessageFields       the fields of a Message record
//   ConversationFields  the fields of a Conversation record

export const ErrorCode = Object.freeze({
  "INVALID_JSON": 1001,
  "VALIDATION_FAILED": 1002,
  "BODY_TOO_LARGE": 1003,
  "NOT_FOUND": 1004,
  "METHOD_NOT_ALLOWED": 1005,
  "RATE_LIMITED": 1006,
  "UNSUPPORTED_MEDIA_TYPE": 1007,
  "REQUEST_TIMEOUT": 1008,
  "UNAUTHORIZED": 1101,
  "TOKEN_EXPIRED": 1102,
  "BAD_CREDENTIALS": 1103,
  "USER_EXISTS": 1201,
  "USER_NOT_FOUND": 1202,
  "CONVERSATION_NOT_FOUND": 1301,
  "NOT_GROUP_MEMBER": 1302,
  "GROUP_PERMISSION_DENIED": 1303,
  "GROUP_DISMISSED": 1304,
  "GROUP_FULL": 1305,
  "MESSAGE_NOT_FOUND": 1401,
  "REVOKE_NOT_ALLOWED": 1402,
  "REVOKE_TOO_LATE": 1403,
  "NOT_REVOCABLE": 1404,
  "FILE_TOO_LARGE": 1601,
  "FILE_EMPTY": 1602,
  "FILE_TYPE_MISMATCH": 1603,
  "FILE_NOT_FOUND": 1604,
  "INTERNAL": 1500,
  "UNAVAILABLE": 1503,
  "NETWORK_ERROR": 10000,
  "NOT_LOGGED_IN": 10001,
  "ALREADY_LOGGED_IN": 10002,
  "PROTOCOL_ERROR": 10003,
  "STORAGE_ERROR": 10004,
  "SDK_BOOT_FAILED": 10005,
});

export const ErrorHttpStatus = Object.freeze({
  "INVALID_JSON": 400,
  "VALIDATION_FAILED": 400,
  "BODY_TOO_LARGE": 413,
  "NOT_FOUND": 404,
  "METHOD_NOT_ALLOWED": 405,
  "RATE_LIMITED": 429,
  "UNSUPPORTED_MEDIA_TYPE": 415,
  "REQUEST_TIMEOUT": 408,
  "UNAUTHORIZED": 401,
  "TOKEN_EXPIRED": 401,
  "BAD_CREDENTIALS": 401,
  "USER_EXISTS": 409,
  "USER_NOT_FOUND": 404,
  "CONVERSATION_NOT_FOUND": 404,
  "NOT_GROUP_MEMBER": 403,
  "GROUP_PERMISSION_DENIED": 403,
  "GROUP_DISMISSED": 410,
  "GROUP_FULL": 409,
  "MESSAGE_NOT_FOUND": 404,
  "REVOKE_NOT_ALLOWED": 403,
  "REVOKE_TOO_LATE": 403,
  "NOT_REVOCABLE": 400,
  "FILE_TOO_LARGE": 413,
  "FILE_EMPTY": 400,
  "FILE_TYPE_MISMATCH": 415,
  "FILE_NOT_FOUND": 404,
  "INTERNAL": 500,
  "UNAVAILABLE": 503,
});

export const SdkEvent = Object.freeze({
  "OnConnecting": "OnConnecting",
  "OnConnectSuccess": "OnConnectSuccess",
  "OnConnectFailed": "OnConnectFailed",
  "OnUserTokenExpired": "OnUserTokenExpired",
  "OnSyncServerStart": "OnSyncServerStart",
  "OnSyncServerFinish": "OnSyncServerFinish",
  "OnSyncServerFailed": "OnSyncServerFailed",
  "OnNewConversation": "OnNewConversation",
  "OnConversationChanged": "OnConversationChanged",
  "OnTotalUnreadMessageCountChanged": "OnTotalUnreadMessageCountChanged",
  "OnRecvNewMessages": "OnRecvNewMessages",
  "OnNewRecvMessageRevoked": "OnNewRecvMessageRevoked",
  "OnRecvC2CReadReceipt": "OnRecvC2CReadReceipt",
  "OnRecvGroupReadReceipt": "OnRecvGroupReadReceipt",
  "OnConversationUserInputStatusChanged": "OnConversationUserInputStatusChanged",
  "OnProgress": "OnProgress",
  "OnSelfInfoUpdated": "OnSelfInfoUpdated",
});

export const SdkErrorEvents = Object.freeze([
  "OnConnectFailed",
  "OnUserTokenExpired",
  "OnSyncServerFailed",
]);

export const ServerEvent = Object.freeze({
  "MESSAGE_NEW": "message.new",
  "CONVERSATION_CHANGED": "conversation.changed",
  "RECEIPT_C2C": "receipt.c2c",
  "MESSAGE_REVOKED": "message.revoked",
  "RECEIPT_GROUP": "receipt.group",
  "TYPING": "typing",
  "USER_UPDATED": "user.updated",
});

export const Frame = Object.freeze({
  "AUTH": "auth",
  "PING": "ping",
  "REQUEST": "request",
  "HELLO": "hello",
  "PONG": "pong",
  "RESPONSE": "response",
  "ERROR": "error",
});

export const Op = Object.freeze({
  "SEND_MESSAGE": "sendMessage",
  "MARK_READ": "markRead",
  "CHANGE_INPUT_STATES": "changeInputStates",
});

export const CloseCode = Object.freeze({
  "GOING_AWAY": 1001,
  "POLICY": 1008,
  "TOO_BIG": 1009,
  "BAD_FRAME": 4400,
  "UNAUTHORIZED": 4401,
  "IDLE": 4408,
});

export const ContentType = Object.freeze({
  "TEXT": 101,
  "PICTURE": 102,
  "FILE": 105,
  "AT_TEXT": 106,
  "MEMBER_QUIT": 1504,
  "GROUP_OWNER_TRANSFERRED": 1507,
  "MEMBER_KICKED": 1508,
  "MEMBER_INVITED": 1509,
  "GROUP_DISMISSED": 1511,
  "MEMBER_SET_TO_ADMIN": 1517,
  "MEMBER_SET_TO_ORDINARY": 1518,
  "GROUP_NAME_UPDATED": 1520,
  "REVOKED": 2101,
});

export const ContentElem = Object.freeze({
  "101": "textElem",
  "102": "pictureElem",
  "105": "fileElem",
  "106": "atTextElem",
  "1504": "notificationElem",
  "1507": "notificationElem",
  "1508": "notificationElem",
  "1509": "notificationElem",
  "1511": "notificationElem",
  "1517": "notificationElem",
  "1518": "notificationElem",
  "1520": "notificationElem",
  "2101": "notificationElem",
});

export const SessionType = Object.freeze({
  "SINGLE": 1,
  "GROUP": 3,
});

export const Constants = Object.freeze({
  "AT_ALL_TAG": "AtAllTag",
  "RECV_MSG_OPTS": Object.freeze({
    "NORMAL": 0,
    "NOT_NOTIFY": 2,
  }),
  "GROUP_AT_TYPES": Object.freeze({
    "AT_NORMAL": 0,
    "AT_ME": 1,
    "AT_ALL": 2,
    "AT_ALL_AT_ME": 3,
  }),
});

export const MessageFields = Object.freeze([
  "serverMsgID",
  "clientMsgID",
  "conversationID",
  "seq",
  "sendID",
  "recvID",
  "groupID",
  "sessionType",
  "contentType",
  "textElem",
  "pictureElem",
  "fileElem",
  "atTextElem",
  "notificationElem",
  "sendTime",
]);

export const ConversationFields = Object.freeze([
  "conversationID",
  "conversationType",
  "userID",
  "groupID",
  "showName",
  "faceURL",
  "unreadCount",
  "hasReadSeq",
  "maxSeq",
  "joinSeq",
  "peerHasReadSeq",
  "latestMsg",
  "latestMsgSendTime",
  "version",
  "isNotInGroup",
  "recvMsgOpt",
  "isPinned",
  "groupAtType",
  "mentionCount",
  "isMarkedUnread",
  "isHidden",
]);
