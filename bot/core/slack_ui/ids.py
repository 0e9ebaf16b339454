"""The ids Slack sends back when someone acts on what the bridge drew: buttons, modals, the
message shortcut, and the reactions that mark a card done. The handlers route on these."""

EDIT_VISITOR = "edit_visitor"  # modals
PUSH_MESSAGE = "push_message"
EDIT_PUSHED = "edit_pushed"
DETAILS_BUTTON, EDIT_BUTTON, PUSH_BUTTON = "visitor_details", "edit_visitor_open", "push_open"
CLAIM_BUTTON = "claim_chat"
DONE_BUTTON, REOPEN_BUTTON = "chat_done", "chat_reopen"
DISCUSS_BUTTON = "discuss_internally"
EDIT_PUSHED_BUTTON, DELETE_PUSHED_BUTTON = "pushed_edit", "pushed_delete"
RETRY_ACTION = "retry_reply"  # Try again, on a delivery warning
SEND_ANYWAY, KEEP_AS_NOTE = "mention_send", "mention_keep_note"  # the mention question
VISITOR_OF_MESSAGE = "visitor_of_message"  # the message shortcut
DONE_MARKS = {"white_check_mark", "heavy_check_mark"}  # a reaction on a card: the chat is done
