"""The team and the visitors: who may act, who is on call, visitor tools, open chats, App Home."""
