#!/bin/sh
echo "Content-type: text/plain"
echo ""
eval "$(echo "$QUERY_STRING" | sed -e 's/+/ /g' -e 's/%20/ /g')"
