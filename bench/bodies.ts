// ProcessNotification bodies for the ingest benchmark, in the shape of EI's own load-test sample
// (Update_1000_OK.xml: the same prefixes, layout and fields), renamed to ProcessNotification. Every
// transaction of a run is a distinct post (resident and bookingId vary), so nothing is deduplicated.

export const BENCH_SOURCE_SYSTEM = 'HSA-ID-987654321';

const HEAD = (
  logicalAddress: string,
) => `<soapenv:Envelope xmlns:urn="urn:riv:itintegration:registry:1" xmlns:urn1="urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn2="urn:riv:itintegration:engagementindex:1">
   <soapenv:Header>
      <urn:LogicalAddress>${logicalAddress}</urn:LogicalAddress>
   </soapenv:Header>
   <soapenv:Body>
      <urn1:ProcessNotification>
`;

const TAIL = `
      </urn1:ProcessNotification>
   </soapenv:Body>
</soapenv:Envelope>`;

function transaction(resident: string, careUnit: number, bookingId: string): string {
  return `         <urn1:engagementTransaction>
            <urn2:deleteFlag>false</urn2:deleteFlag>
            <urn2:engagement>
               <urn2:registeredResidentIdentification>${resident}</urn2:registeredResidentIdentification>
               <urn2:serviceDomain>riv:crm:scheduling</urn2:serviceDomain>
               <urn2:categorization>Booking</urn2:categorization>
               <urn2:logicalAddress>VE-ID-${careUnit}</urn2:logicalAddress>
               <urn2:businessObjectInstanceIdentifier>${bookingId}</urn2:businessObjectInstanceIdentifier>
               <urn2:clinicalProcessInterestId>NA</urn2:clinicalProcessInterestId>
               <urn2:sourceSystem>${BENCH_SOURCE_SYSTEM}</urn2:sourceSystem>
               <urn2:dataController>ScaleTest</urn2:dataController>
               <urn2:mostRecentContent>20150310104108</urn2:mostRecentContent>
            </urn2:engagement>
         </urn1:engagementTransaction>


`;
}

/**
 * One call's body. `callKey` must be unique within the run (e.g. phase, caller and call number);
 * `serial` numbers the residents so that they differ between calls as well.
 */
export function notificationBody(
  logicalAddress: string,
  callKey: string,
  transactions: number,
  serial: number,
): string {
  const parts: string[] = [HEAD(logicalAddress)];
  for (let i = 0; i < transactions; i++) {
    // 12 characters, 8 digits + digit + 3 digits: the shape EI's rule demands (not real persons).
    const resident = `19${String((serial * transactions + i) % 1e10).padStart(10, '0')}`;
    parts.push(transaction(resident, (i % 10) + 1, `${callKey}-${i}`));
  }
  parts.push(TAIL);
  return parts.join('');
}
