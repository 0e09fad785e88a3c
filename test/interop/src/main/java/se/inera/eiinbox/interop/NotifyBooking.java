// The caller a booking system's integrator would write: the classes CXF generated from the served WSDL,
// used by their names in the official RIVTA contract (ProcessNotificationType, EngagementTransactionType,
// the LogicalAddress header), one ProcessNotification call, and the answer printed as "ResultCode=...".
package se.inera.eiinbox.interop;

import java.net.URL;
import riv.itintegration.engagementindex._1.EngagementTransactionType;
import riv.itintegration.engagementindex._1.EngagementType;
import riv.itintegration.engagementindex._1.ResultCodeEnum;
import riv.itintegration.engagementindex.processnotification._1.rivtabp21.ProcessNotificationResponderInterface;
import riv.itintegration.engagementindex.processnotification._1.rivtabp21.ProcessNotificationResponderService;
import riv.itintegration.engagementindex.processnotificationresponder._1.ProcessNotificationResponseType;
import riv.itintegration.engagementindex.processnotificationresponder._1.ProcessNotificationType;

public final class NotifyBooking {
  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: NotifyBooking <wsdl url> <logical address (header)> <care unit> <resident> <source system> <booking id>");
      System.exit(2);
    }
    String wsdlUrl = args[0];
    // The service as the served WSDL describes it: its soap:address is where the call goes.
    ProcessNotificationResponderInterface port = new ProcessNotificationResponderService(new URL(wsdlUrl)).getProcessNotificationResponderPort();

    EngagementType engagement = new EngagementType();
    engagement.setRegisteredResidentIdentification(args[3]);
    engagement.setServiceDomain("riv:crm:scheduling");
    engagement.setCategorization("Booking");
    engagement.setLogicalAddress(args[2]);
    engagement.setBusinessObjectInstanceIdentifier(args[5]);
    engagement.setClinicalProcessInterestId("NA");
    engagement.setMostRecentContent("20261122093000");
    engagement.setSourceSystem(args[4]);
    engagement.setDataController("SE2321000016");

    EngagementTransactionType transaction = new EngagementTransactionType();
    transaction.setDeleteFlag(false);
    transaction.setEngagement(engagement);
    ProcessNotificationType request = new ProcessNotificationType();
    request.getEngagementTransaction().add(transaction);

    ProcessNotificationResponseType answer = port.processNotification(args[1], request);
    ResultCodeEnum code = answer.getResultCode();
    System.out.println("ResultCode=" + code.value());
    System.out.println("comment=" + (answer.getComment() == null ? "" : answer.getComment()));
  }
}
